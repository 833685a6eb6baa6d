"""The generic fake app: one configurable REST app in two API styles that differ in every
convention a generic connector's spec file covers (style A: bearer, envelope, cursor, webhooks;
style B: api key in the query, bare JSON, page numbers, polling), over one shared record store."""

from sandbox.apps.generic.sandbox import GENERIC_RETRY, STYLES, GenericSandbox, Subscriber
from sandbox.apps.generic.store import Change, Contact, GenericStore, Note, Task

__all__ = [
    "GENERIC_RETRY",
    "STYLES",
    "Change",
    "Contact",
    "GenericSandbox",
    "GenericStore",
    "Note",
    "Subscriber",
    "Task",
]
