"""eKyte connector (marketing projects): contacts ⇄ persons and person-contacts, tasks, board notes;
polled, no webhooks."""

from ghlsync.apps.ekyte.connector import EkyteConnector
from ghlsync.apps.ekyte.settings import EkyteCredentials, EkyteSettings
from ghlsync.apps.ekyte.spec import SPEC

__all__ = ["SPEC", "EkyteConnector", "EkyteCredentials", "EkyteSettings"]
