"""A faithful fake of Kixie's event API, webhook management and webhooks (target-apps.md §3.6)."""

from sandbox.apps.kixie.account import Account, Outgoing
from sandbox.apps.kixie.lookup import LookupAnswer
from sandbox.apps.kixie.payloads import Agent
from sandbox.apps.kixie.powerlists import PowerListContact
from sandbox.apps.kixie.registry import MANAGEMENT_CALLS, Registration
from sandbox.apps.kixie.sandbox import DEFAULT_BASE_URL, KixieSandbox, WebhookDelivery

__all__ = [
    "DEFAULT_BASE_URL",
    "MANAGEMENT_CALLS",
    "Account",
    "Agent",
    "KixieSandbox",
    "LookupAnswer",
    "Outgoing",
    "PowerListContact",
    "Registration",
    "WebhookDelivery",
]
