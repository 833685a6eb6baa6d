"""Kixie connector (dialer): GHL contacts into a PowerList with a digest of their tasks and notes;
calls, dispositions, SMS and scheduled activities back into GHL as notes and tasks."""

from ghlsync.apps.kixie.connector import KixieConnector, capabilities_for
from ghlsync.apps.kixie.errors import KIXIE_ERRORS
from ghlsync.apps.kixie.settings import KixieCredentials, KixieSettings
from ghlsync.apps.kixie.spec import SPEC

__all__ = [
    "KIXIE_ERRORS",
    "SPEC",
    "KixieConnector",
    "KixieCredentials",
    "KixieSettings",
    "capabilities_for",
]
