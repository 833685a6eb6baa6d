"""KixieSandbox: the fake Kixie account(s) tests, the demo and the dev stack talk to.

    sb = KixieSandbox(clock=fake_clock, seed=0)
    sb.add_account("2001", "dev-kixie-api-key", powerlists={"1969": "GHL contacts"})
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url)       # in-process
    http.post("/app/event", params={...}, json={...})                         # Kixie's API
    sb.register_webhook("endcall", "https://stack.example/webhooks/kixie/c?token=…")
    call = sb.emit_endcall("+14155550145")      # queues the webhook to every endcall registration
    sb.deliver_webhooks()                       # POSTs it once (Kixie never retries)
    sb.lookup("https://stack.example/kixie/c/lookup?token=…", "+14155550145")

Webhooks are unsigned: each delivery carries only `Content-Type` and the registration's custom
headers; a failed one (non-2xx, refused, timed out) is recorded in the outbox and never retried.
Deliveries go over the network by default; `webhook_sender=http_sender(transport=…)` (or any
Sender) delivers in-process. `call` and `sms` requests are recorded in `account.outgoing`,
never dialled or texted. State per account is in `sb.accounts`; API calls in `sb.request_log`.
"""

import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from sandbox.apps.kixie import payloads
from sandbox.apps.kixie.account import Account, Outgoing
from sandbox.apps.kixie.api import MAX_BODY_BYTES, build_app
from sandbox.apps.kixie.lookup import LOOKUP_TIMEOUT_S, LookupAnswer, call_lookup
from sandbox.apps.kixie.payloads import Agent, Call, Json
from sandbox.apps.kixie.phones import e164
from sandbox.apps.kixie.powerlists import DuplicateHandling
from sandbox.apps.kixie.quota import DAILY_LIMIT, DailyCounter
from sandbox.apps.kixie.registry import MANAGEMENT_CALLS, Registration, WebhookRegistry
from sandbox.fakes.base import FakeApp
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.webhooks import NO_RETRY, Delivery, Outbox, Sender, http_sender

DEFAULT_BASE_URL = "https://apig.kixie.sandbox"
DEFAULT_BUSINESS_NUMBER = "+14155550100"


@dataclass(kw_only=True)
class WebhookDelivery(Delivery):
    """One event posted to one registration."""

    webhookid: str
    eventname: str

    def json(self) -> Json:
        return {
            "webhookid": self.webhookid,
            "eventname": self.eventname,
            "url": self.url,
            "state": self.state,
            "status": self.status,
            "error": self.error,
            "attempts": self.attempts,
        }


class KixieSandbox(FakeApp):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        base_url: str = DEFAULT_BASE_URL,
        webhook_sender: Sender | None = None,
        lookup_transport: httpx.BaseTransport | None = None,
        daily_limit: int = DAILY_LIMIT,
        management_calls: Mapping[str, frozenset[str]] = MANAGEMENT_CALLS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url
        faults = FaultInjector(f"kixie:{seed}", api_paths=lambda path: path.startswith("/app/"))
        super().__init__(clock=clock, sleep=sleep, faults=faults)
        self.accounts: dict[str, Account] = {}
        self.quota = DailyCounter(clock, daily_limit)
        self.management_calls = management_calls
        self.max_body_bytes = max_body_bytes
        self.outbox: Outbox[WebhookDelivery] = Outbox(
            clock, self.lock, webhook_sender or http_sender(), NO_RETRY
        )
        self.lookup_client = httpx.Client(transport=lookup_transport, timeout=LOOKUP_TIMEOUT_S)
        self._ids = random.Random(f"kixie-ids:{seed}")
        self._numeric_ids = itertools.count(700_001)
        self._calls: dict[str, Call] = {}  # UUID callid -> the call, for the events that follow it
        self._numeric_callids: dict[str, str] = {}  # UUID callid -> its numeric id
        build_app(self)

    # -- setup ----------------------------------------------------------------------------
    def add_account(
        self,
        businessid: str,
        apikey: str,
        *,
        business_number: str = DEFAULT_BUSINESS_NUMBER,
        agents: tuple[Agent, ...] = (Agent(),),
        powerlists: Mapping[str, str] | None = None,
        team_sms_ids: tuple[str, ...] = (),
        default_handling: DuplicateHandling = "overwrite",
    ) -> Account:
        """A Kixie business with its API key (enabled), users, and PowerLists (id -> name)."""
        number = e164(business_number)
        if number is None or not agents:
            raise ValueError("an account needs an E.164 business number and at least one agent")
        account = Account(
            businessid=str(businessid),
            apikey=apikey,
            business_number=number,
            default_handling=default_handling,
            agents={a.email.lower(): a for a in agents},
            team_sms_ids=set(team_sms_ids),
            registry=WebhookRegistry(self.management_calls),
        )
        for powerlist_id, name in (powerlists or {}).items():
            account.powerlists.add_list(powerlist_id, name)
        with self.lock:
            self.accounts[account.businessid] = account
        return account

    def account(self, businessid: str | None = None) -> Account:
        """The account `businessid`, or the first one added."""
        if businessid is None:
            if not self.accounts:
                raise LookupError("the Kixie sandbox has no account yet (add_account)")
            return next(iter(self.accounts.values()))
        return self.accounts[str(businessid)]

    def register_webhook(
        self,
        eventname: str,
        location: str,
        *,
        name: str = "",
        headers: Mapping[str, str] | None = None,
        businessid: str | None = None,
        **filters: str,
    ) -> Registration:
        """A registration as `postWebhook` makes it (for tests and the stacks)."""
        custom = [{"name": k, "value": v} for k, v in (headers or {}).items()]
        body: Json = {"eventname": eventname, "location": location, "name": name, **filters}
        body["headers"] = _compact_json(custom) if custom else False
        with self.lock:
            registry = self.account(businessid).registry
            webhookid = registry.create(body)["data"]["webhookid"]
            return registry.registrations[webhookid]

    # -- what Kixie was asked to dial or text ------------------------------------------------
    def outgoing(self, eventname: str | None = None, businessid: str | None = None) -> list[Outgoing]:
        """The recorded `call` / `sms` / `bizsms` requests (all of them when eventname is None)."""
        with self.lock:
            sent = self.account(businessid).outgoing
            return [o for o in sent if eventname is None or o.eventname == eventname]

    # -- emitters: Kixie's webhooks, as if a call, text or activity happened ---------------------
    def emit(self, eventname: str, payload: Json, *, businessid: str | None = None) -> list[WebhookDelivery]:
        """Queue `payload` to every registration of the account that wants `eventname`."""
        body = _compact_json(payload).encode()
        with self.lock:
            now = self.clock()
            wanted = self.account(businessid).registry.for_event(eventname, payload.get("data", {}))
            return [
                self.outbox.queue(
                    WebhookDelivery(
                        url=registration.location,
                        body=body,
                        headers={"Content-Type": "application/json", **registration.custom_headers()},
                        next_attempt_at=now,
                        webhookid=registration.webhookid,
                        eventname=eventname,
                    )
                )
                for registration in wanted
            ]

    def _new_call(self, account: Account, customer_number: str, agent_email: str | None, **call: Any) -> Call:
        number = e164(customer_number)
        if number is None:
            raise ValueError(f"not a phone number: {customer_number!r}")
        agent = account.agents[agent_email.lower()] if agent_email else account.agent
        on_a_list = [c for (_, target), c in account.powerlists.contacts.items() if target == number]
        made = Call(
            callid=str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            businessid=account.businessid,
            agent=agent,
            customer_number=number,
            business_number=account.business_number,
            started_at=self.clock(),
            crm_contact_id=next((c.fields.get("crmContactId") for c in on_a_list), None),
            **call,
        )
        self._calls[made.callid] = made
        self._numeric_callids[made.callid] = str(next(self._numeric_ids))
        return made

    def _known_call(self, account: Account, callid: str | None, customer_number: str | None) -> Call:
        if callid is not None:
            return self._calls[callid]
        if customer_number is None:
            raise ValueError("say which call: its callid or the customer's number")
        return self._new_call(account, customer_number, None)

    def emit_endcall(
        self,
        customer_number: str,
        *,
        calltype: str = "outgoing",
        callstatus: str = "answered",
        duration: int = 125,
        agent_email: str | None = None,
        businessid: str | None = None,
        **details: Any,
    ) -> Json:
        """A call ended: `endcall` with `data.callDetails` (UUID `callid`); `details` override
        or add call fields (`contactid`, `powerlistid`, `disposition`, …)."""
        with self.lock:
            account = self.account(businessid)
            call = self._new_call(
                account,
                customer_number,
                agent_email,
                calltype=calltype,
                callstatus=callstatus,
                duration=duration,
            )
            payload = payloads.end_call(call, **details)
            self.emit("endcall", payload, businessid=account.businessid)
            return payload

    def emit_startcall(
        self,
        customer_number: str,
        *,
        calltype: str = "outgoing",
        agent_email: str | None = None,
        businessid: str | None = None,
        **details: Any,
    ) -> Json:
        """A call started: sent to `startcall` registrations, but its `hookevent` says "endcall"
        like Kixie's own example (no duration, end date or recording)."""
        with self.lock:
            account = self.account(businessid)
            call = self._new_call(account, customer_number, agent_email, calltype=calltype)
            payload = payloads.start_call(call, **details)
            self.emit("startcall", payload, businessid=account.businessid)
            return payload

    def emit_disposition(
        self,
        customer_number: str | None = None,
        *,
        callid: str | None = None,
        disposition: str = "Connected",
        note: str = "",
        subject: str = "",
        businessid: str | None = None,
        **fields: Any,
    ) -> Json:
        """A call's disposition, for the call `callid` (a UUID an emitted call had) or a new call
        to `customer_number`: numeric `callid`, the UUID in `externalid`, fields on `data`."""
        with self.lock:
            account = self.account(businessid)
            call = self._known_call(account, callid, customer_number)
            payload = payloads.disposition(
                call,
                self._numeric_callids[call.callid],
                name=disposition,
                note=note,
                subject=subject,
                **fields,
            )
            self.emit("disposition", payload, businessid=account.businessid)
            return payload

    def emit_scheduledactivity(
        self,
        *,
        subject: str,
        description: str = "",
        due: datetime | None = None,
        timezone: str = "America/New_York",
        callid: str | None = None,
        customer_number: str | None = None,
        contactid: str | None = None,
        businessid: str | None = None,
        **fields: Any,
    ) -> Json:
        """A follow-up scheduled after a call (`callid` or a new call to `customer_number`): due
        at `due` (naive: in `timezone`; default tomorrow 10:00 there), with the account's `apiKey`
        in the body like Kixie's example."""
        zone = ZoneInfo(timezone)
        if due is None:
            tomorrow = datetime.fromtimestamp(self.clock(), zone) + timedelta(days=1)
            due = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
        due = due.replace(tzinfo=zone) if due.tzinfo is None else due.astimezone(zone)
        with self.lock:
            account = self.account(businessid)
            call = self._known_call(account, callid, customer_number)
            payload = payloads.scheduled_activity(
                numeric_callid=self._numeric_callids[call.callid],
                businessid=account.businessid,
                agent=call.agent,
                api_key=account.apikey,
                subject=subject,
                description=description,
                due=due,
                contactid=contactid or call.crm_contact_id,
                **fields,
            )
            self.emit("scheduledactivity", payload, businessid=account.businessid)
            return payload

    def emit_sms(
        self,
        customer_number: str,
        message: str,
        *,
        direction: str = "incoming",
        agent_email: str | None = None,
        businessid: str | None = None,
        **fields: Any,
    ) -> Json:
        """A text to or from the business number: `SMS` (no `hookevent`, like Kixie's example)."""
        number = e164(customer_number)
        if number is None:
            raise ValueError(f"not a phone number: {customer_number!r}")
        with self.lock:
            account = self.account(businessid)
            agent = account.agents[agent_email.lower()] if agent_email else account.agent
            payload = payloads.sms(
                messageid=f"sms{self._ids.getrandbits(96):024x}",
                businessid=account.businessid,
                agent=agent,
                customer_number=number,
                business_number=account.business_number,
                message=message,
                direction=direction,
                **fields,
            )
            self.emit("SMS", payload, businessid=account.businessid)
            return payload

    def emit_cisummary(
        self,
        callid: str,
        *,
        summary: str = "The customer asked for a quote.",
        businessid: str | None = None,
        **fields: Any,
    ) -> Json:
        """A Conversation Intelligence summary of the emitted call `callid` (UUID)."""
        with self.lock:
            account = self.account(businessid)
            call = self._calls[callid]
            payload = payloads.ci_summary(call, self._numeric_callids[callid], summary=summary, **fields)
            self.emit("cisummary", payload, businessid=account.businessid)
            return payload

    # -- Kixie calling the customer's custom-CRM lookup ------------------------------------------
    def lookup(self, url: str, number: str) -> LookupAnswer:
        """`GET <url>?number=<number>`, as Kixie does when a call starts (never under the lock:
        an in-process receiver may call back into the fake)."""
        return call_lookup(self.lookup_client, url, number)


def _compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
