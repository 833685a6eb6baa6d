"""`ghlsync` against the World's moto tables and queues, over data the end-to-end flows produced."""

import json

import pytest

from ghlsync.store.conflicts import ConflictStatus, ConflictStore
from sandbox.stack.world import World
from tests.fixtures.operate import conflicted_contact, run_cli, synced_contact

pytestmark = pytest.mark.integration


def test_status_lists_every_connection_healthy_with_its_ghl_budget(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact synced to every app
    synced_contact(world)
    # WHEN an operator asks for the status as JSON
    code, printed = run_cli(world, "status", "--json")
    rows = {row["app"]: row for row in json.loads(printed)}
    # THEN every connection is there, healthy, without dead letters or conflicts, with the headroom
    # the worker saved from GHL's rate-limit headers
    assert code == 0 and set(rows) == set(world.connection_ids)
    assert {row["health"] for row in rows.values()} == {"ok"}
    assert {(row["dead_letters"], row["open_conflicts"]) for row in rows.values()} == {(0, 0)}
    assert all(0 < row["ghl_daily_headroom_percent"] < 100 for row in rows.values())


def test_status_table_has_a_row_per_connection(operated_world: World) -> None:
    world = operated_world
    # GIVEN a stack with its connections
    # WHEN the status is printed for people
    code, printed = run_cli(world, "status")
    # THEN a header and one line per connection
    lines = printed.strip().splitlines()
    assert code == 0 and lines[0].split()[:3] == ["CONNECTION_ID", "APP", "HEALTH"]
    assert len(lines) == 1 + len(world.connection_ids)


def test_audit_contact_lists_its_decisions_newest_first_without_values(operated_world: World) -> None:
    world = operated_world
    # GIVEN a synced contact, then renamed in GHL
    contact_id, _ = synced_contact(world, email="grace@operate.test")
    world.ghl.ui_update_contact(world.location_id, contact_id, firstName="Grace")
    world.settle()
    # WHEN its audit trail is asked for
    code, printed = run_cli(world, "audit", "contact", contact_id, "--json")
    rows = json.loads(printed)
    # THEN every connection's decisions are there, newest first, with field names and no values
    assert code == 0 and {r["connection_id"] for r in rows} == set(world.connection_ids.values())
    assert [r["recorded_at"] for r in rows] == sorted((r["recorded_at"] for r in rows), reverse=True)
    assert any("first_name" in r["fields"] for r in rows)
    assert "grace@operate.test" not in printed and "Grace" not in printed


def test_audit_contact_by_an_app_id_finds_the_linked_contact(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact synced to Kayako
    contact_id, user_id = synced_contact(world)
    # WHEN its trail is asked for by the Kayako user id
    code, printed = run_cli(
        world, "audit", "contact", str(user_id), "--connection", world.connection_ids["kayako"], "--json"
    )
    # THEN the rows are the GHL contact's
    rows = json.loads(printed)
    assert code == 0 and rows and {r["ghl_id"] for r in rows} == {contact_id}


def test_audit_connection_filters_by_decision_within_the_window(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact edited on both sides at once (a conflict) after its first sync
    conflicted_contact(world)
    kayako = world.connection_ids["kayako"]
    # WHEN the connection's conflicts of the last hour are asked for
    code, printed = run_cli(
        world, "audit", "connection", kayako, "--since", "1h", "--decision", "conflict", "--json"
    )
    rows = json.loads(printed)
    # THEN only conflict rows of that connection come back
    assert code == 0 and rows
    assert {(r["decision"], r["connection_id"]) for r in rows} == {("conflict", kayako)}


def test_conflicts_list_and_show_give_both_sides_values(operated_world: World) -> None:
    world = operated_world
    # GIVEN a recorded conflict on the Kayako connection
    contact_id, _ = conflicted_contact(world)
    # WHEN it is listed and shown
    _, listed = run_cli(world, "conflicts", "list", "--json")
    [conflict] = json.loads(listed)
    code, shown = run_cli(world, "conflicts", "show", conflict["conflict_id"], "--json")
    # THEN it names the contact and holds both first names
    assert code == 0 and conflict["ghl_id"] == contact_id and conflict["status"] == "open"
    fields = json.loads(shown)["fields"]
    assert fields["first_name"] == {"ghl": "Georgina", "app": "Katherine"}


def test_resolving_a_conflict_keeping_the_app_converges_both_sides(operated_world: World) -> None:
    world = operated_world
    # GIVEN a recorded conflict (GHL's name was kept on both sides)
    contact_id, user_id = conflicted_contact(world)
    [conflict] = ConflictStore(world.table).for_connection(world.connection_ids["kayako"])
    # WHEN the operator keeps Kayako's value and the worker runs
    code, printed = run_cli(world, "conflicts", "resolve", conflict.conflict_id, "--keep", "app")
    world.settle()
    # THEN both sides hold Kayako's name, the conflict is closed and the resolution has its audit row
    assert code == 0 and "queued" in printed
    ghl = world.ghl_reader().get_contact(contact_id)
    assert ghl is not None and ghl.first_name == "Katherine"
    assert world.kayako.store.users[user_id].full_name == "Katherine Lovelace"
    assert ConflictStore(world.table).get(conflict.conflict_id).status is ConflictStatus.RESOLVED
    rows = [r for r in world.audit() if r.event_type == "ConflictResolved"]
    assert [(r.decision, r.connection_id) for r in rows] == [("applied", world.connection_ids["kayako"])]


def test_a_resolved_conflict_cannot_be_resolved_again(operated_world: World) -> None:
    world = operated_world
    # GIVEN a conflict already resolved
    conflicted_contact(world)
    [conflict] = ConflictStore(world.table).for_connection(world.connection_ids["kayako"])
    run_cli(world, "conflicts", "resolve", conflict.conflict_id, "--keep", "ghl")
    world.settle()
    # WHEN it is resolved again
    code, _ = run_cli(world, "conflicts", "resolve", conflict.conflict_id, "--keep", "app")
    # THEN the CLI refuses
    assert code == 2


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from ghlsync.operator_cli import main

    # GIVEN each command and subcommand
    for argv in (
        [],
        ["status"],
        ["audit"],
        ["audit", "contact"],
        ["audit", "connection"],
        ["conflicts"],
        ["conflicts", "list"],
        ["conflicts", "show"],
        ["conflicts", "resolve"],
    ):
        # WHEN it is asked for --help
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--help"])
        # THEN it prints usage and exits 0
        assert exit_.value.code == 0
        assert "usage: ghlsync" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("command", "usage"), [("connections", "connections_cli"), ("redrive", "redrive_cli")]
)
def test_the_existing_clis_are_commands_of_ghlsync(
    command: str, usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from ghlsync.operator_cli import main

    # GIVEN a command that the older CLIs implement
    # WHEN it is asked for --help through ghlsync
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    # THEN that CLI answers, with its own commands
    assert exit_.value.code == 0 and usage in capsys.readouterr().out
