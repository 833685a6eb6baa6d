"""One Kixie account (business): its API key, users, business number, PowerLists and webhooks,
and the record of what it was asked to dial or text."""

from dataclasses import dataclass, field

from sandbox.apps.kixie.payloads import Agent
from sandbox.apps.kixie.powerlists import DuplicateHandling, PowerLists
from sandbox.apps.kixie.registry import MANAGEMENT_CALLS, WebhookRegistry


@dataclass(frozen=True)
class Outgoing:
    """A `call` or `sms` (or `bizsms`) Kixie was asked to make: recorded, never dialled or sent."""

    eventname: str
    email: str | None  # the agent (None for a Team SMS)
    target: str  # E.164
    message: str | None
    at: float

    def json(self) -> dict[str, object]:
        return {
            "eventname": self.eventname,
            "email": self.email,
            "target": self.target,
            "message": self.message,
            "at": self.at,
        }


@dataclass
class Account:
    businessid: str
    apikey: str
    business_number: str  # E.164: the number calls and texts come from
    default_handling: DuplicateHandling = "overwrite"
    agents: dict[str, Agent] = field(default_factory=dict)  # lower-cased e-mail -> agent
    team_sms_ids: set[str] = field(default_factory=set)
    powerlists: PowerLists = field(init=False)
    registry: WebhookRegistry = field(default_factory=lambda: WebhookRegistry(MANAGEMENT_CALLS))
    outgoing: list[Outgoing] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.powerlists = PowerLists(self.default_handling)

    @property
    def agent(self) -> Agent:
        """The account's first user: who emitted calls are made by unless a test says otherwise."""
        return next(iter(self.agents.values()))
