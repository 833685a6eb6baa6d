"""Kayako connector (help desk): contacts ⇄ users, tasks ⇄ cases, notes, tags; automation webhooks."""

from ghlsync.apps.kayako.connector import KayakoConnector
from ghlsync.apps.kayako.errors import (
    KayakoAuthError,
    KayakoConflict,
    KayakoError,
    KayakoNotFound,
    KayakoRateLimited,
    KayakoServerError,
    KayakoTransportError,
    KayakoValidationError,
)
from ghlsync.apps.kayako.settings import KayakoCredentials, KayakoSettings
from ghlsync.apps.kayako.spec import SPEC

__all__ = [
    "SPEC",
    "KayakoAuthError",
    "KayakoConflict",
    "KayakoConnector",
    "KayakoCredentials",
    "KayakoError",
    "KayakoNotFound",
    "KayakoRateLimited",
    "KayakoServerError",
    "KayakoSettings",
    "KayakoTransportError",
    "KayakoValidationError",
]
