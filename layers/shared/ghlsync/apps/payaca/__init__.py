"""Payaca connector (trades job management): contacts ⇄ customers, tags, project events → notes."""

from ghlsync.apps.payaca.connector import PayacaConnector, capabilities_for
from ghlsync.apps.payaca.errors import PAYACA_ERRORS
from ghlsync.apps.payaca.settings import PayacaCredentials, PayacaSettings
from ghlsync.apps.payaca.spec import SPEC

__all__ = [
    "PAYACA_ERRORS",
    "SPEC",
    "PayacaConnector",
    "PayacaCredentials",
    "PayacaSettings",
    "capabilities_for",
]
