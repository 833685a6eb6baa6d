"""eKyte flow 2, the scheduled (and on-demand) business-enriched refresh, end to end: GHL contacts
that no webhook announced, grouped by their GHL business, reach eKyte as one Person per business
with a person-contact per contact, through the real refresh function (its schedule's event) and
`connections_cli refresh`; a run cut short by the invocation's time or by GHL's daily budget
resumes where it stopped and never creates anything twice."""

from collections import Counter

import pytest

from ghlsync import refresh as refresh_job
from ghlsync.sync import wiring
from sandbox.ghl.ratelimit import GhlBudget
from sandbox.stack.world import World
from tests.fixtures.ekyte_refresh import (
    ekyte_calls,
    ekyte_fake,
    ghl_calls,
    persons_by_name,
    refresh_cli,
    seed_businesses,
)

pytestmark = pytest.mark.integration

DAY_S = 86_400


def test_the_scheduled_refresh_groups_contacts_by_business_with_the_fewest_calls(ekyte_world: World) -> None:
    # GIVEN two GHL businesses of three and two contacts, and one contact of no business
    seed_businesses(ekyte_world, {"Acme": 3, "Bolt": 2}, alone=1)
    mark = ekyte_world.mark()

    # WHEN the refresh schedule ticks (RefreshFunction, the connection never refreshed)
    summary = ekyte_world.refresh()

    # THEN one Person per business holds its contacts, the lone contact is a Person of its own
    assert [run["status"] for run in summary["runs"]] == ["finished"]
    assert persons_by_name(ekyte_world) == {
        "Acme": ["Seed0 Contact", "Seed1 Contact", "Seed2 Contact"],
        "Bolt": ["Seed3 Contact", "Seed4 Contact"],
        "Seed5 Contact": [],
    }
    # AND GHL was read once (businesses, one page of contacts); eKyte: one persons index, one look
    # per business, one create per record
    assert Counter(ghl_calls(ekyte_world, mark)) == {"GET /businesses/": 1, "POST /contacts/search": 1}
    assert Counter(ekyte_calls(ekyte_world, mark)) == {
        "GET /n8n/polling/persons": 3,
        "POST /n8n/persons": 3,
        "POST /n8n/persons/contacts": 5,
    }


def test_a_refresh_that_is_not_due_costs_no_call(ekyte_world: World) -> None:
    # GIVEN a refresh that finished just now
    seed_businesses(ekyte_world, {"Acme": 2})
    ekyte_world.refresh()
    mark = ekyte_world.mark()

    # WHEN the schedule ticks again within the connection's cadence (a day)
    summary = ekyte_world.refresh()

    # THEN nothing runs and nothing is called
    assert (summary["not_due"], summary["runs"]) == (1, [])
    assert ekyte_world.api_calls(since=mark) == []


def test_refresh_on_demand_adds_a_new_contact_under_its_business_and_skips_the_rest(
    ekyte_world: World,
) -> None:
    # GIVEN a refreshed business, then one more contact added to it in GHL (no webhook)
    ids = seed_businesses(ekyte_world, {"Acme": 2})
    ekyte_world.refresh()
    ekyte_world.ghl.seed(ekyte_world.location_id, 1, business_id=ids["Acme"])
    mark = ekyte_world.mark()

    # WHEN the operator runs `connections_cli refresh CONN`
    status, summary = refresh_cli(ekyte_world)

    # THEN the new contact is a person-contact of the business's Person; the others cost no write
    assert (status, summary["status"], summary["synced"], summary["unchanged"]) == (0, "finished", 1, 2)
    assert persons_by_name(ekyte_world) == {"Acme": ["Seed0 Contact", "Seed1 Contact", "Seed2 Contact"]}
    assert [c for c in ekyte_calls(ekyte_world, mark) if c.startswith("POST")] == [
        "POST /n8n/persons/contacts"
    ]


def test_a_refresh_out_of_time_resumes_in_the_next_invocation_without_duplicates(ekyte_world: World) -> None:
    # GIVEN five contacts of one business and an invocation whose time runs out after a few contacts
    seed_businesses(ekyte_world, {"Acme": 5})
    runner = refresh_job.build_runner(wiring.default_connectors(), wiring.default_engine())
    ticks = iter([10**7] * 4)

    # WHEN it runs, then the next invocation runs with time to spare
    first = runner.run(lambda: next(ticks, 0))
    second = runner.run(lambda: 10**7)

    # THEN the first stopped part way, the second finished, and each contact was created once
    assert first.runs[0].status == "out_of_time" and 0 < first.runs[0].done < 5
    assert (second.runs[0].status, second.runs[0].done) == ("finished", 5)
    [acme] = ekyte_fake(ekyte_world).store.persons.values()
    assert sorted(c.name for c in acme.contacts) == [f"Seed{n} Contact" for n in range(5)]
    assert len(ekyte_world.linked_pairs("ekyte")) == 5


def test_a_refresh_stops_at_ghls_daily_reserve_and_resumes_the_next_utc_day(ekyte_world: World) -> None:
    # GIVEN six contacts and a location with 5 GHL calls a day left to it (20% kept for live traffic)
    seed_businesses(ekyte_world, {"Acme": 6})
    ghl = ekyte_world.ghl
    ghl.rate_limiter = GhlBudget(ghl.clock, burst_limit=100, burst_interval_ms=10_000, daily_limit=5)

    # WHEN the operator refreshes two contacts per GHL page, today and after midnight UTC
    status, today = refresh_cli(ekyte_world, "--page-size", "2")
    ekyte_world.clock.advance(DAY_S)
    next_status, next_day = refresh_cli(ekyte_world, "--page-size", "2")

    # THEN today's run stops (exit 1) before GHL's reserve with part done; the next day finishes it
    assert (status, today["status"]) == (1, "ghl_budget")
    assert 0 < today["done"] < 6 and "kept for live traffic" in today["message"]
    assert (next_status, next_day["status"], next_day["done"]) == (0, "finished", 6)
    assert len(ekyte_world.linked_pairs("ekyte")) == 6
