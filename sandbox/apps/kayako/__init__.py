"""A faithful fake of Kayako's REST API v1 (shared/reference/target-apps.md §1.12)."""

from sandbox.apps.kayako.automations import Delivery, Endpoint
from sandbox.apps.kayako.sandbox import DEFAULT_BASE_URL, KayakoSandbox
from sandbox.apps.kayako.store import CASE_STATUSES, CUSTOMER_ROLE_ID, ROLES, Change
from sandbox.fakes.middleware import LoggedRequest

__all__ = [
    "CASE_STATUSES",
    "CUSTOMER_ROLE_ID",
    "DEFAULT_BASE_URL",
    "ROLES",
    "Change",
    "Delivery",
    "Endpoint",
    "KayakoSandbox",
    "LoggedRequest",
]
