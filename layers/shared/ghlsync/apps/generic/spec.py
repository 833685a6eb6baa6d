"""The generic app, as the stack sees it: the connection's settings ARE its validated spec.

`connections_cli create --app generic --spec-file app.yaml` stores the spec (validated, every
problem at once) as the connection's `settings.app`; the connector, its capabilities, its
credential fields and its webhook verification all follow from it. One connector per connection
version is built (ingress, worker), so a spec is validated once per container, not per event.
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ghlsync.apps.base import Capabilities, Connector, Inbound
from ghlsync.apps.rest.connector import RestConnector
from ghlsync.apps.rest.credentials import WEBHOOK_SECRET, RestCredentials, needed_credentials
from ghlsync.apps.rest.inbound import BUSY_STATUS, SOURCE
from ghlsync.apps.rest.model import AppSpec
from ghlsync.apps.spec import ConnectionShape, ConnectorSpec, InboundRoute, RotatingCredentials

# A monotonic clock counts from boot; epoch seconds are past this (2001). Webhook timestamps and
# Retry-After dates need epoch seconds: a monotonic `clock` is paired with the system's wall clock.
_EPOCH_SECONDS = 1e9


def _wall_clock(clock: Callable[[], float]) -> Callable[[], float]:
    return clock if clock() > _EPOCH_SECONDS else time.time


def _needed(settings: Mapping[str, Any]) -> frozenset[str]:
    return needed_credentials(AppSpec.model_validate(dict(settings)))


def _cannot_store(changes: dict[str, str]) -> None:
    raise TypeError("this connector was built without a credential store: a rotated token is lost")


def _build(
    connection: ConnectionShape,
    http: httpx.Client,
    credentials: RotatingCredentials | RestCredentials,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Connector:
    """`credentials` as the registry hands them (RotatingCredentials), or bare (tests, tools)."""
    rotating = credentials if isinstance(credentials, RotatingCredentials) else None
    values = rotating.values if rotating is not None else credentials
    assert isinstance(values, RestCredentials)
    return RestConnector(
        http,
        AppSpec.model_validate(dict(connection.settings.app)),
        values,
        name=SOURCE,
        location_id=connection.location_id,
        connection_id=connection.connection_id,
        sleep=sleep,
        clock=clock,
        wall_clock=_wall_clock(clock),
        persist=rotating.persist if rotating is not None else _cannot_store,
        default_country=getattr(connection.settings, "default_country", None),
    )


SPEC = ConnectorSpec(
    name=SOURCE,
    settings_model=AppSpec,
    credentials_model=RestCredentials,
    # Nothing is declared without a spec: each connection's connector derives its own from it.
    # What ingress reads of the app itself: a webhook it cannot queue now is answered 503.
    capabilities=Capabilities(entities={}, inbound=Inbound(webhooks=True, busy_status=BUSY_STATUS)),
    build=_build,
    webhooks=(
        InboundRoute(
            method="POST",
            path="/webhooks/generic/{connectionId}",
            purpose="HMAC-signed webhooks, as the spec's inbound.webhooks describes them",
        ),
    ),
    generated_credentials=frozenset({WEBHOOK_SECRET}),
    credentials_needed=_needed,
    rotating_credentials=True,
    setup=(
        "In the app, register a webhook with the URL above for the events the spec's\n"
        "inbound.webhooks.events lists, signed with the webhook_secret above (HMAC, as the spec\n"
        "says). A spec without webhooks is polled by the sweep instead: nothing to configure."
    ),
)
