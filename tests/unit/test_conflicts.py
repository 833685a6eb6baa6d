"""Per-field three-way merge against per-side shadows."""

from datetime import UTC, datetime, timedelta

from ghlsync.store.connections import ConflictPolicy
from ghlsync.sync.conflicts import SideView, flatten, merge, unflatten_into

T = datetime(2026, 3, 1, tzinfo=UTC)
SKEW = timedelta(seconds=5)


def _merge(ghl: SideView, app: SideView, policy: ConflictPolicy = ConflictPolicy.LWW):  # type: ignore[no-untyped-def]
    return merge(ghl, app, policy=policy, skew=SKEW)


def test_field_changed_on_one_side_goes_to_the_other() -> None:
    # GIVEN GHL changed the name, the app did not
    plan = _merge(SideView({"name": "B"}, {"name": "A"}, T), SideView({"name": "A"}, {"name": "A"}, T))
    # THEN the app gets it and nothing goes to GHL
    assert (plan.to_app, plan.to_ghl, plan.conflicts) == ({"name": "B"}, {}, ())


def test_both_changed_far_apart_the_later_wins() -> None:
    # GIVEN both changed, the app 10 s later
    plan = _merge(
        SideView({"n": "G"}, {"n": "A0"}, T), SideView({"n": "A"}, {"n": "A0"}, T + timedelta(seconds=10))
    )
    # THEN the app value goes to GHL
    assert plan.to_ghl == {"n": "A"} and not plan.conflicts


def test_both_changed_within_skew_is_a_conflict_keeping_the_hub_value() -> None:
    # GIVEN both changed 3 s apart, the app later
    plan = _merge(
        SideView({"n": "G"}, {"n": "0"}, T), SideView({"n": "A"}, {"n": "0"}, T + timedelta(seconds=3))
    )
    # THEN a conflict is reported and GHL's value goes to the app
    assert [c.field for c in plan.conflicts] == ["n"]
    assert plan.to_app == {"n": "G"} and plan.to_ghl == {}


def test_both_changed_without_timestamps_is_a_conflict() -> None:
    plan = _merge(SideView({"n": "G"}, {"n": "0"}, None), SideView({"n": "A"}, {"n": "0"}, T))
    assert [c.field for c in plan.conflicts] == ["n"]


def test_app_wins_policy_picks_the_app_value() -> None:
    plan = _merge(
        SideView({"n": "G"}, {"n": "0"}, T + timedelta(hours=1)),
        SideView({"n": "A"}, {"n": "0"}, T),
        ConflictPolicy.APP_WINS,
    )
    assert plan.to_ghl == {"n": "A"} and not plan.conflicts


def test_field_one_side_cannot_hold_is_left_alone() -> None:
    # GIVEN the app never stores company (its shadow and value stay None) and nothing changed
    plan = _merge(
        SideView({"company": "Acme"}, {"company": "Acme"}, T),
        SideView({"company": None}, {"company": None}, T),
    )
    # THEN no write either way
    assert plan.to_ghl == {} and plan.to_app == {}


def test_first_sync_fills_empty_fields_from_the_other_side() -> None:
    # GIVEN no shadows; GHL has a phone, the app a company
    plan = _merge(
        SideView({"phone": "+1", "company": None}, None, T),
        SideView({"phone": None, "company": "Acme"}, None, T),
    )
    # THEN each side fills the other's gap
    assert plan.to_app == {"phone": "+1"} and plan.to_ghl == {"company": "Acme"}


def test_custom_fields_merge_one_key_at_a_time() -> None:
    # GIVEN custom fields where GHL changed x and the app changed y
    base = flatten({"custom_fields": {"x": 1, "y": 1}})
    plan = _merge(
        SideView(flatten({"custom_fields": {"x": 2, "y": 1}}), base, T),
        SideView(flatten({"custom_fields": {"x": 1, "y": 3}}), base, T),
    )
    # THEN each change travels alone, no conflict
    assert plan.to_app == {"custom_fields.x": 2} and plan.to_ghl == {"custom_fields.y": 3}
    assert unflatten_into({"custom_fields": {"x": 1, "y": 3}}, plan.to_app) == {
        "custom_fields": {"x": 2, "y": 3}
    }
