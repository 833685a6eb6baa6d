"""sandbox.demo.workflow_api: the round trip's steps pass on World's Kayako connection, and fail
with the reason when the stack does not answer as documented."""

import pytest

from ghlsync.core.entities import EntityKind
from sandbox.demo.report import StepFailed
from sandbox.demo.workflow_api import WorkflowRoundTrip, world_sender
from tests.fixtures.workflow import APP, WorkflowClient


def _trip(workflow: WorkflowClient, key: str) -> WorkflowRoundTrip:
    world = workflow.world
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Lovelace", email="a@x.test"
    )
    world.settle()
    return WorkflowRoundTrip(
        send=world_sender(world),
        connection_id=world.connection_ids[APP],
        key=key,
        contact_id=f"app:{world.app_id_of(EntityKind.CONTACT, contact.id, app=APP)}",
        settle=world.settle,
        app_writes=lambda: len(world.app_writes(APP)),
    )


def test_every_round_trip_step_passes_on_the_kayako_connection(workflow: WorkflowClient) -> None:
    # GIVEN the round trip over World's Kayako connection and its key
    trip = _trip(workflow, workflow.key)
    # WHEN every step runs in order THEN each says what happened
    happened = [step() for _, step in trip.steps()]
    assert len(happened) == 7 and happened[0].startswith("Ada Lovelace: 0 task(s)")


def test_a_step_fails_with_the_answer_it_saw(workflow: WorkflowClient) -> None:
    # GIVEN the round trip with a key the connection does not have
    trip = _trip(workflow, "wfk_not-this-connections-key")
    # WHEN the bundle step runs THEN it fails, naming the 401 it got
    with pytest.raises(StepFailed, match="answered 401"):
        trip.bundle()
