"""A faithful fake of Payaca's public API v1 (shared/reference/target-apps.md §4.8)."""

from sandbox.apps.payaca.sandbox import DEFAULT_BASE_URL, PAYACA_RETRY, PayacaSandbox, Subscriber
from sandbox.apps.payaca.store import Change, Customer, PayacaStore, Project

__all__ = [
    "DEFAULT_BASE_URL",
    "PAYACA_RETRY",
    "Change",
    "Customer",
    "PayacaSandbox",
    "PayacaStore",
    "Project",
    "Subscriber",
]
