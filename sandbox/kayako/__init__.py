"""A faithful fake of Kayako's REST API v1 (shared/reference/target-apps.md §1.12)."""

from sandbox.kayako.api import LoggedRequest
from sandbox.kayako.automations import Delivery, Endpoint
from sandbox.kayako.faults import Fault
from sandbox.kayako.sandbox import DEFAULT_BASE_URL, KayakoSandbox
from sandbox.kayako.store import CASE_STATUSES, CUSTOMER_ROLE_ID, ROLES, Change

__all__ = [
    "CASE_STATUSES",
    "CUSTOMER_ROLE_ID",
    "DEFAULT_BASE_URL",
    "ROLES",
    "Change",
    "Delivery",
    "Endpoint",
    "Fault",
    "KayakoSandbox",
    "LoggedRequest",
]
