"""`make demo`: a scripted scenario on the local stack, end to end through the real path.

Every change is made the way a user makes it (in the GHL or Kayako sandbox's "UI"); it travels as
a real webhook (signed by the GHL sandbox, token-in-URL from Kayako) over HTTP to the local API
gateway, through the ingress handler onto the SQS FIFO queue in moto, through sync_worker and the
engine, and over HTTP to the other sandbox. The demo only watches the far side for the effect.

    python -m sandbox.demo [--verbose]     (exit status 0 only when every flow and check passed)

First the foundation, on a second location: the GHL app is installed through OAuth (a client in
the GHL sandbox, its credentials in GhlAppSecret, a signed state, the consent screen's code sent
to GET /oauth/callback through the gateway → tokens in Secrets Manager, tenant registered, GHL's
INSTALL webhook answered 200), then token_refresh's schedule fires (the sandbox issues 1-hour
tokens, inside the 4-hour refresh window) → tokens rotated, the old refresh token refused by GHL,
and a GHL API call with the token provider succeeds.

Flows: GHL contact create/update → Kayako user; Kayako user → GHL contact; Kayako case → GHL
task; notes and tags both ways; an echo that produces no write; a replayed webhook with a single
effect; a transient Kayako outage retried to success; a permanent failure (a bad note mapping →
Kayako 400 FIELD_REQUIRED) dead-lettered, fixed, redriven. Then a consistency check of GHL against
Kayako (contacts/users, tags, notes, tasks/cases).

The stack runs with nothing in the background (`DevConfig(background=False)`): the demo delivers
webhooks and drains the queue itself, so each step is watched to its end without races, and
retries are made quick (RETRY_BASE_SECONDS=1) so the transient step takes a second, not minutes.
`run_demo(stack)` runs the same scenario on any started DevStack and returns a DemoReport.
"""

import argparse
import io
import json
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.stack.dev import DevConfig, DevStack, PortBusy

if TYPE_CHECKING:
    from ghlsync.store.tokens import OAuthTokens

STEP_TIMEOUT_S = 8.0
# The second location, installed through OAuth (the first uses a private-integration token).
OAUTH_LOCATION_ID = "oauthInstallLocation"
OAUTH_COMPANY_ID = "demoAgencyCompany001"
# Marketplace client ids are `<24-hex app id>-<suffix>`.
OAUTH_CLIENT_ID = "64d0c0ffee5eed0dd0c0ffee-demo"
# The sandbox issues 1-hour access tokens in the demo: inside token_refresh's 4-hour window.
OAUTH_ACCESS_TOKEN_TTL_S = 3600
FAILURE_LOG_LINES = 40
POLL_INTERVAL_S = 0.05
# Mutating calls that are really reads (GHL search) or logins are not "writes".
_READ_PATHS = ("/search", "/session", "/oauth/token")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class StepResult:
    flow: str
    happened: str
    passed: bool
    latency_s: float | None = None


@dataclass(frozen=True)
class Check:
    what: str
    passed: bool
    detail: str


@dataclass
class DemoReport:
    steps: list[StepResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.passed for s in self.steps) and all(c.passed for c in self.checks)

    def failed(self) -> list[str]:
        return [s.flow for s in self.steps if not s.passed] + [c.what for c in self.checks if not c.passed]

    def render(self) -> str:
        rows = [
            (
                s.flow,
                _short(s.happened, 100),
                "ok" if s.passed else "FAILED",
                "-" if s.latency_s is None else f"{s.latency_s:.2f}s",
            )
            for s in self.steps
        ]
        out = _table(("flow", "what happened", "result", "latency"), rows)
        checks = [(c.what, "ok" if c.passed else "FAILED", _short(c.detail, 100)) for c in self.checks]
        out += "\n\nconsistency (GHL vs Kayako)\n" + _table(("check", "result", "detail"), checks)
        verdict = "all flows and checks passed" if self.ok else "FAILED: " + "; ".join(self.failed())
        return f"{out}\n\n{verdict}"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), line, *(fmt.format(*r) for r in rows)])


class StepFailed(Exception):
    """The step's effect did not happen; the message says what was seen instead."""


@dataclass
class Person:
    """One person as both sides know them, filled in as the flows run."""

    email: str
    ghl_id: str | None = None
    kayako_id: int | None = None


class Demo:
    def __init__(
        self,
        stack: DevStack,
        *,
        log: Callable[[str], None],
        step_timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        self.stack = stack
        self.ghl = stack.ghl
        self.kayako = stack.kayako
        self.location_id = stack.config.location_id
        self.log = log
        self.step_timeout_s = step_timeout_s
        self.ada = Person("ada@demo.example")
        self.grace = Person("grace@demo.example")
        self.report = DemoReport()
        # Every GHL webhook as sent (url, body, headers): the replay step sends one again.
        self.ghl_sent: list[tuple[str, bytes, dict[str, str]]] = []
        send = self.ghl.webhook_sender

        def recording_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
            self.ghl_sent.append((url, body, dict(headers)))
            status: int = send(url, body, headers)
            return status

        self.ghl.webhook_sender = recording_sender
        # The Marketplace app the OAuth install goes through (the secret exists only in this run).
        self.oauth_client_secret = secrets.token_urlsafe(24)
        self.oauth_tokens: OAuthTokens | None = None
        self._secrets = stack.client("secretsmanager")
        self._sqs = stack.client("sqs")
        self._table = stack.session.resource("dynamodb").Table(stack.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]

    # -- running --------------------------------------------------------------------------------
    def run(self) -> DemoReport:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("GHL OAuth install → tokens stored", self.oauth_install),
            ("token refresh (scheduled) → rotated", self.scheduled_token_refresh),
            ("GHL contact created → Kayako user", self.ghl_contact_created),
            ("GHL contact updated → Kayako user", self.ghl_contact_updated),
            ("echo of our own write → no write", self.echo_is_suppressed),
            ("Kayako user created → GHL contact", self.kayako_user_created),
            ("Kayako case → GHL task", self.kayako_case_to_task),
            ("GHL note → Kayako note", self.ghl_note_to_kayako),
            ("Kayako note → GHL note", self.kayako_note_to_ghl),
            ("GHL tag → Kayako tag", self.ghl_tag_to_kayako),
            ("Kayako tag → GHL tag", self.kayako_tag_to_ghl),
            ("replayed GHL webhook → one effect", self.replay_has_one_effect),
            ("transient Kayako outage → retried", self.transient_failure_retried),
            ("bad mapping → DLQ → fix → redrive", self.permanent_failure_redriven),
        ]
        for flow, action in steps:
            self._run_step(flow, action)
        self.report.checks = self.consistency()
        return self.report

    def _run_step(self, flow: str, action: Callable[[], str]) -> None:
        self.log(f"▶ {flow}")
        self._latency: float | None = None
        try:
            happened = action()
            result = StepResult(flow, happened, True, self._latency)
        except StepFailed as exc:
            result = StepResult(flow, str(exc), False, self._latency)
        except Exception as exc:  # a component blew up: report it as this flow's failure
            result = StepResult(flow, f"error: {type(exc).__name__}: {exc}", False, self._latency)
        self.log(f"{'✔' if result.passed else '✘'} {flow}: {result.happened}")
        self.report.steps.append(result)
        self.settle()  # leave nothing in flight for the next step

    # -- waiting for effects ----------------------------------------------------------------------
    def settle(self) -> int:
        """Deliver queued webhooks and drain the queue until nothing moves; returns the work done."""
        total = 0
        while moved := self.stack.deliver_webhooks() + self.stack.drain():
            total += moved
        return total

    def until(self, what: str, check: Callable[[], bool], *, since: float | None = None) -> float:
        """Settle and re-check until `check()` holds; the latency is measured from `since`."""
        started = time.perf_counter() if since is None else since
        deadline = time.perf_counter() + self.step_timeout_s
        while True:
            self.settle()
            if check():
                self._latency = time.perf_counter() - started
                return self._latency
            if time.perf_counter() > deadline:
                raise StepFailed(f"timed out waiting for {what}{self._in_flight()}")
            if self._quiet():
                raise StepFailed(f"{what} never happened (nothing left in flight){self._last_failure()}")
            time.sleep(POLL_INTERVAL_S)  # a message is waiting out its retry backoff

    def _queue_depth(self, url: str) -> int:
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def _quiet(self) -> bool:
        return (
            self._queue_depth(self.stack.env["SYNC_QUEUE_URL"]) == 0 and not self.kayako.automations.pending
        )

    def _in_flight(self) -> str:
        depth = self._queue_depth(self.stack.env["SYNC_QUEUE_URL"])
        return f" ({depth} event(s) still queued){self._last_failure()}" if depth else self._last_failure()

    def _last_failure(self) -> str:
        """The newest failed audit row or dead letter, so a FAILED line says why."""
        dlq = self._queue_depth(self.stack.env["SYNC_DLQ_URL"])
        failed = [r for r in self.audit_rows() if r.get("decision") == "failed"]
        if failed:
            return f"; last failure: {failed[-1].get('reason', '')}"
        return f"; {dlq} dead letter(s)" if dlq else ""

    def audit_rows(self) -> list[dict[str, Any]]:
        from ghlsync.store.audit import AuditStore

        rows = AuditStore(self._table).for_connection(self.stack.connection_id)
        return [row.model_dump(mode="json") for row in rows]

    # -- the sides --------------------------------------------------------------------------------
    def ghl_contact(self, person: Person) -> Any:
        contacts = self.ghl.store.contacts(self.location_id)
        if person.ghl_id is not None:
            return next((c for c in contacts if c.id == person.ghl_id), None)
        found = [c for c in contacts if (c.fields.get("email") or "").lower() == person.email]
        if len(found) > 1:
            raise StepFailed(f"{len(found)} GHL contacts have {person.email}: a duplicate was created")
        if found:
            person.ghl_id = found[0].id
        return found[0] if found else None

    def kayako_user(self, person: Person) -> Any:
        if person.kayako_id is None:
            identity = self.kayako.store.find_identity("email", person.email)
            if identity is None:
                return None
            person.kayako_id = identity.user_id
        return self.kayako.store.users.get(person.kayako_id)

    def kayako_phone(self, user_id: int) -> str | None:
        phones = self.kayako.store.identities_of(user_id, "phone")
        return phones[0].value if phones else None

    def ghl_writes(self) -> int:
        return sum(1 for method, path, _ in self.ghl.request_log if _is_write(method, path))

    def kayako_writes(self) -> int:
        return sum(1 for r in self.kayako.request_log if _is_write(r.method, r.path))

    def need(self, person: Person, side: str) -> Any:
        record = self.ghl_contact(person) if side == "ghl" else self.kayako_user(person)
        if record is None:
            raise StepFailed(f"needs {person.email} on {side}, which an earlier flow did not create")
        return record

    # -- the foundation: installing the app, keeping its tokens fresh -------------------------------
    def oauth_install(self) -> str:
        """A location installs the Marketplace app: consent screen → GET /oauth/callback → tokens."""
        from ghlsync.ghl.oauth import make_state
        from ghlsync.store.tenants import AuthKind, TenantStatus, TenantStore
        from ghlsync.store.tokens import OAuthTokens, TokenStore

        started = time.perf_counter()
        redirect_uri = f"{self.stack.gateway_url}/oauth/callback"
        self.ghl.add_location(OAUTH_LOCATION_ID, company_id=OAUTH_COMPANY_ID)
        self.ghl.ui_create_contact(OAUTH_LOCATION_ID, firstName="Olivia", email="olivia@oauth.example")
        self.ghl.add_oauth_client(
            OAUTH_CLIENT_ID,
            self.oauth_client_secret,
            redirect_uri=redirect_uri,
            webhook_url=f"{self.stack.gateway_url}/webhooks/ghl",
        )
        # The operator's step after deploy: the app's credentials into GhlAppSecret (its generated
        # state_signing_key stays).
        app_secret = self._secrets.get_secret_value(SecretId=self.stack.env["GHL_APP_SECRET_ID"])
        app = json.loads(app_secret["SecretString"])
        app.update(
            client_id=OAUTH_CLIENT_ID, client_secret=self.oauth_client_secret, redirect_uri=redirect_uri
        )
        self._secrets.put_secret_value(
            SecretId=self.stack.env["GHL_APP_SECRET_ID"], SecretString=json.dumps(app)
        )
        # The install link carries a signed state; GHL's consent screen hands back a one-time code.
        state = make_state(app["state_signing_key"], time.time())
        code = self.ghl.authorize(OAUTH_CLIENT_ID, OAUTH_LOCATION_ID)
        response = httpx.get(redirect_uri, params={"code": code, "state": state}, timeout=10)
        self._latency = time.perf_counter() - started
        if response.status_code != 200:
            raise StepFailed(f"GET /oauth/callback answered {response.status_code}: {response.text[:200]}")
        stored = TokenStore(self._secrets, self.stack.env["TOKEN_SECRET_PREFIX"]).get(
            OAUTH_LOCATION_ID, fresh=True
        )
        tokens = stored.credentials
        if not isinstance(tokens, OAuthTokens):
            raise StepFailed(f"the location's secret holds a {tokens.kind} token, not OAuth tokens")
        if self.ghl.oauth.resolve(tokens.access_token) is None:
            raise StepFailed("the stored access token is not one GHL issued")
        tenant = TenantStore(self._table).get(OAUTH_LOCATION_ID)
        if tenant is None or (tenant.status, tenant.auth_kind) != (TenantStatus.ACTIVE, AuthKind.OAUTH):
            raise StepFailed(f"the tenant is not registered as an active OAuth install: {tenant}")
        if tenant.token_expires_at != tokens.expires_at:
            raise StepFailed("the tenant does not know when its token expires (the refresh would miss it)")
        self.settle()  # GHL's INSTALL webhook for the same install reaches /webhooks/ghl
        install = [d for d in self.ghl.deliveries if d.event_type == "INSTALL"]
        if [d.status for d in install] != [200]:
            raise StepFailed(f"the INSTALL webhook was answered {[d.status for d in install]}, not [200]")
        self.oauth_tokens = tokens
        minutes = (tokens.expires_at - datetime.now(UTC)).total_seconds() / 60
        return f"callback 200, INSTALL 200: tokens in Secrets Manager, tenant active, valid {minutes:.0f} min"

    def scheduled_token_refresh(self) -> str:
        """The token_refresh schedule fires: a token inside its window is rotated, the old one is dead."""
        from ghlsync.ghl.client import GhlClient
        from ghlsync.ghl.oauth import InvalidGrant, OAuthClient
        from ghlsync.store.leases import LeaseStore
        from ghlsync.store.tenants import TenantStore
        from ghlsync.store.tokens import OAuthTokenProvider, OAuthTokens, TokenStore

        before = self.oauth_tokens
        if before is None:
            raise StepFailed("needs the OAuth install, which did not complete")
        window_s = float(self.stack.env["TOKEN_REFRESH_WINDOW_SECONDS"])
        if not before.expires_within(window_s, datetime.now(UTC)):
            raise StepFailed(f"the install's token does not expire within the {window_s:.0f}s refresh window")
        started = time.perf_counter()
        summary = self.stack.tick("TokenRefreshFunction")
        self._latency = time.perf_counter() - started
        if summary is None:
            raise StepFailed("the TokenRefreshFunction tick failed (its error is in the stack's log)")
        if not isinstance(summary, dict) or summary.get("refreshed") != 1:
            raise StepFailed(f"the scheduled refresh did not refresh exactly one token: {summary}")
        tokens = TokenStore(self._secrets, self.stack.env["TOKEN_SECRET_PREFIX"])
        after = tokens.get(OAUTH_LOCATION_ID, fresh=True).credentials
        if not isinstance(after, OAuthTokens) or after.refresh_token == before.refresh_token:
            raise StepFailed("the stored refresh token did not change")
        with httpx.Client(timeout=10) as http:
            oauth = OAuthClient(http, self.stack.ghl_url, OAUTH_CLIENT_ID, self.oauth_client_secret)
            try:
                oauth.refresh(before.refresh_token)
            except InvalidGrant:
                pass  # single-use: GHL rotated it
            else:
                raise StepFailed("GHL still accepts the old refresh token")
            table = self._table
            provider = OAuthTokenProvider(tokens, LeaseStore(table), TenantStore(table), oauth)
            client = GhlClient(http, provider, OAUTH_LOCATION_ID, base_url=self.stack.ghl_url)
            contacts = list(client.list_contacts())
        if provider.access_token(OAUTH_LOCATION_ID) != after.access_token:
            raise StepFailed("the provider does not hand out the rotated access token")
        return f"rotated; old refresh token → invalid_grant; new token reads GHL ({len(contacts)} contact)"

    # -- the flows ----------------------------------------------------------------------------------
    def ghl_contact_created(self) -> str:
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Ada", lastName="Lovelace", email=self.ada.email, phone="+14155550101"
        )
        self.ada.ghl_id = contact.id
        self.until("a Kayako user for Ada", lambda: self._full_name(self.ada) == "Ada Lovelace")
        return f"GHL {contact.id} → Kayako user #{self.ada.kayako_id} 'Ada Lovelace'"

    def ghl_contact_updated(self) -> str:
        self.need(self.ada, "ghl")
        self.need(self.ada, "kayako")
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, lastName="King")
        self.until("Ada's new last name in Kayako", lambda: self._full_name(self.ada) == "Ada King")
        return f"lastName → Kayako user #{self.ada.kayako_id} full_name 'Ada King'"

    def echo_is_suppressed(self) -> str:
        self.need(self.ada, "kayako")
        started_at = datetime.now(UTC)
        ghl_before, kayako_before = self.ghl_writes(), self.kayako_writes()
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, phone="+14155550111")
        self.until(
            "Ada's new phone in Kayako", lambda: self.kayako_phone(self.ada.kayako_id or 0) == "+14155550111"
        )
        self.settle()  # Kayako's automation reports our write back; it must go nowhere
        echoes = [
            r
            for r in self.audit_rows()
            if r["source"] == "kayako"
            and r["decision"] == "echo"
            and r["recorded_at"] >= started_at.isoformat()
        ]
        ghl_writes = self.ghl_writes() - ghl_before
        if not echoes:
            raise StepFailed("Kayako's report of our write was not recognised as an echo (no echo audit row)")
        if ghl_writes:
            raise StepFailed(f"the echo wrote to GHL {ghl_writes} time(s)")
        return (
            f"{self.kayako_writes() - kayako_before} Kayako write(s), Kayako's echo dropped "
            f"({len(echoes)} echo row(s)), 0 GHL writes"
        )

    def kayako_user_created(self) -> str:
        user = self.kayako.ui_create_user("Grace Hopper", email=self.grace.email, phone="+14155550102")
        self.grace.kayako_id = user.id
        self.until(
            "a GHL contact for Grace",
            lambda: (
                (c := self.ghl_contact(self.grace)) is not None
                and (c.fields.get("firstName"), c.fields.get("lastName")) == ("Grace", "Hopper")
            ),
        )
        return f"Kayako user #{user.id} → GHL contact {self.grace.ghl_id} 'Grace Hopper'"

    def kayako_case_to_task(self) -> str:
        self.need(self.grace, "ghl")
        case = self.kayako.ui_create_case(self.grace.kayako_id, "Printer on fire", "Room 3, please hurry")
        self.until("a GHL task for the case", lambda: "Printer on fire" in self._ghl_task_titles(self.grace))
        return f"case #{case.id} → GHL task 'Printer on fire' on {self.grace.ghl_id}"

    def ghl_note_to_kayako(self) -> str:
        self.need(self.ada, "kayako")
        note = self.ghl.ui_create_note(self.location_id, self.ada.ghl_id, body="Asked for an engine demo")
        self.until("the note on Kayako", lambda: "Asked for an engine demo" in self._kayako_notes(self.ada))
        return f"GHL note {note.id} → Kayako user #{self.ada.kayako_id} note"

    def kayako_note_to_ghl(self) -> str:
        self.need(self.grace, "ghl")
        note = self.kayako.ui_add_note(self.grace.kayako_id, "Prefers email over phone")
        self.until("the note on GHL", lambda: "Prefers email over phone" in self._ghl_notes(self.grace))
        return f"Kayako note #{note.id} → GHL note on {self.grace.ghl_id}"

    def ghl_tag_to_kayako(self) -> str:
        self.need(self.ada, "kayako")
        self.ghl.ui_add_tags(self.location_id, self.ada.ghl_id, ["vip"])
        self.until("tag 'vip' in Kayako", lambda: "vip" in self.kayako.store.tags_of(self.ada.kayako_id))
        return f"'vip' → Kayako user #{self.ada.kayako_id} tags"

    def kayako_tag_to_ghl(self) -> str:
        self.need(self.grace, "ghl")
        self.kayako.ui_add_tags(self.grace.kayako_id, "beta-tester")
        self.until("tag 'beta-tester' in GHL", lambda: "beta-tester" in self._ghl_tags(self.grace))
        return f"'beta-tester' → GHL contact {self.grace.ghl_id} tags"

    def replay_has_one_effect(self) -> str:
        self.need(self.ada, "kayako")
        sent_before = len(self.ghl_sent)
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, firstName="Augusta")
        self.until("Ada's new first name in Kayako", lambda: self._full_name(self.ada) == "Augusta King")
        update = next(
            (s for s in self.ghl_sent[sent_before:] if b'"type":"ContactUpdate"' in s[1]),
            None,
        )
        if update is None:
            raise StepFailed("the GHL sandbox sent no ContactUpdate webhook to replay")
        kayako_before, ghl_before = self.kayako_writes(), self.ghl_writes()
        url, body, headers = update
        statuses = [httpx.post(url, content=body, headers=headers, timeout=10).status_code for _ in range(2)]
        self.settle()
        extra = self.kayako_writes() - kayako_before + self.ghl_writes() - ghl_before
        if any(status >= 300 for status in statuses):
            raise StepFailed(f"the gateway answered the replays {statuses} (GHL would retry a 429 only)")
        if extra:
            raise StepFailed(f"the replayed webhook caused {extra} more write(s)")
        return f"same webhook posted twice more: answered {statuses}, 0 extra writes"

    def transient_failure_retried(self) -> str:
        self.need(self.ada, "kayako")
        errors_before = sum(1 for r in self.kayako.request_log if r.status >= 500)
        self.kayako.faults.configure(rate_5xx=1.0)
        changed = time.perf_counter()
        try:
            self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, lastName="Lovelace")
            self.settle()  # the worker meets the outage and puts the event back with a backoff
            errors = sum(1 for r in self.kayako.request_log if r.status >= 500) - errors_before
            waiting = self._queue_depth(self.stack.env["SYNC_QUEUE_URL"])
            if self._full_name(self.ada) == "Augusta Lovelace":
                raise StepFailed("the change went through although Kayako answered 5xx")
            if not errors:
                raise StepFailed("Kayako was never called during the outage")
            if not waiting:
                raise StepFailed(f"after {errors} Kayako 5xx the event did not stay on the queue for a retry")
        finally:
            self.kayako.faults.configure()
        self.until(
            "the retry to reach Kayako",
            lambda: self._full_name(self.ada) == "Augusta Lovelace",
            since=changed,
        )
        return f"Kayako answered 5xx {errors} times, the event waited on the queue, its retry applied it"

    def permanent_failure_redriven(self) -> str:
        self.need(self.ada, "kayako")
        dlq_url = self.stack.env["SYNC_DLQ_URL"]
        self._set_kayako_setting("note_body_field", "body")  # Kayako wants `contents`
        changed = time.perf_counter()
        note_text = "Call back on Monday"
        self.ghl.ui_create_note(self.location_id, self.ada.ghl_id, body=note_text)
        self.settle()
        listed = self.stack.functions.invoke("DlqRedriveFunction", {"action": "list"})
        letters = listed.get("dead_letters", []) if isinstance(listed, dict) else []
        if not letters:
            raise StepFailed(
                f"no dead letter after Kayako refused the note (DLQ depth {self._queue_depth(dlq_url)})"
            )
        reason = str(letters[-1].get("failure_reason", ""))
        if note_text in self._kayako_notes(self.ada):
            raise StepFailed("the note reached Kayako through the bad mapping")
        self.log(f"  dead letter: {reason}")
        if "FIELD_REQUIRED" not in reason:
            raise StepFailed(f"dead-lettered for another reason than the bad mapping: {reason}")
        self._set_kayako_setting("note_body_field", "contents")
        redriven = self.stack.functions.invoke("DlqRedriveFunction", {"action": "redrive"})
        count = redriven.get("redriven") if isinstance(redriven, dict) else None
        if not count:
            raise StepFailed(f"the redrive moved nothing back: {redriven}")
        self.until(
            "the redriven note in Kayako", lambda: note_text in self._kayako_notes(self.ada), since=changed
        )
        return f"Kayako 400 → DLQ; mapping fixed, {count} event redriven, note applied"

    # -- consistency ----------------------------------------------------------------------------------
    def consistency(self) -> list[Check]:
        pairs: list[tuple[str, Any, Any]] = []
        unmatched: list[str] = []
        for contact in self.ghl.store.contacts(self.location_id):
            email = (contact.fields.get("email") or "").lower()
            identity = self.kayako.store.find_identity("email", email) if email else None
            user = self.kayako.store.users.get(identity.user_id) if identity else None
            if user is None:
                unmatched.append(f"GHL {contact.id} ({email or 'no email'}) has no Kayako user")
            else:
                pairs.append((email, contact, user))
        for user in self.kayako.store.users.values():
            if user.role_id != 4:  # agents (the sync's own login) are not contacts
                continue
            emails = [i.value.lower() for i in self.kayako.store.identities_of(user.id, "email")]
            if not any(email == e for email, _, paired in pairs if paired.id == user.id for e in emails):
                unmatched.append(
                    f"Kayako user #{user.id} ({', '.join(emails) or 'no email'}) has no GHL contact"
                )
        checks = [
            Check("contacts ⇄ users", not unmatched, "; ".join(unmatched) or f"{len(pairs)} pair(s) matched"),
            self._compare(
                "names",
                pairs,
                lambda c, u: _ghl_full_name(c) == u.full_name,
                lambda c, u: f"{_ghl_full_name(c)!r} vs {u.full_name!r}",
            ),
            self._compare(
                "tags",
                pairs,
                lambda c, u: set(c.tags) == set(self.kayako.store.tags_of(u.id)),
                lambda c, u: f"{sorted(c.tags)} vs {sorted(self.kayako.store.tags_of(u.id))}",
            ),
            self._compare(
                "notes",
                pairs,
                lambda c, u: self._ghl_notes_of(c.id) == self._kayako_notes_of(u.id),
                lambda c, u: f"{sorted(self._ghl_notes_of(c.id))} vs {sorted(self._kayako_notes_of(u.id))}",
            ),
            self._compare(
                "tasks ⇄ cases",
                pairs,
                lambda c, u: self._ghl_tasks_of(c.id) == self._kayako_cases_of(u.id),
                lambda c, u: f"{sorted(self._ghl_tasks_of(c.id))} vs {sorted(self._kayako_cases_of(u.id))}",
            ),
        ]
        return checks

    def _compare(
        self,
        what: str,
        pairs: list[tuple[str, Any, Any]],
        same: Callable[[Any, Any], bool],
        show: Callable[[Any, Any], str],
    ) -> Check:
        differing = [f"{email}: {show(c, u)}" for email, c, u in pairs if not same(c, u)]
        return Check(what, not differing, "; ".join(differing) or f"equal on {len(pairs)} pair(s)")

    # -- small readers ------------------------------------------------------------------------------
    def _full_name(self, person: Person) -> str | None:
        user = self.kayako_user(person)
        return None if user is None else str(user.full_name)

    def _ghl_children(self, kind: str, contact_id: str) -> list[Any]:
        location = self.ghl.store.location(self.location_id)
        return list(getattr(location, kind).get(contact_id, {}).values())

    def _ghl_notes_of(self, contact_id: str) -> set[str]:
        return {n.body for n in self._ghl_children("notes", contact_id)}

    def _ghl_tasks_of(self, contact_id: str) -> set[str]:
        return {t.title for t in self._ghl_children("tasks", contact_id)}

    def _kayako_notes_of(self, user_id: int) -> set[str]:
        return {n.body_text for n in self.kayako.store.notes_of(user_id)}

    def _kayako_cases_of(self, user_id: int) -> set[str]:
        return {c.subject for c in self.kayako.store.list_cases(requester_id=user_id, since=None)}

    def _ghl_task_titles(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return self._ghl_tasks_of(contact.id) if contact is not None else set()

    def _ghl_notes(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return self._ghl_notes_of(contact.id) if contact is not None else set()

    def _ghl_tags(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return set(contact.tags) if contact is not None else set()

    def _kayako_notes(self, person: Person) -> set[str]:
        user = self.kayako_user(person)
        return self._kayako_notes_of(user.id) if user is not None else set()

    def _set_kayako_setting(self, name: str, value: Any) -> None:
        """Change one connector setting of the connection, as an operator editing its mapping would."""
        from ghlsync.store.connections import ConnectionStore

        store = ConnectionStore(self._table)
        connection = store.get(self.stack.connection_id)
        if connection is None:
            raise StepFailed(f"connection {self.stack.connection_id} is gone")
        settings = connection.settings.model_copy(update={"app": {**connection.settings.app, name: value}})
        store.put(connection.model_copy(update={"settings": settings, "updated_at": datetime.now(UTC)}))


def _is_write(method: str, path: str) -> bool:
    return method.upper() in _WRITE_METHODS and not any(marker in path for marker in _READ_PATHS)


def _ghl_full_name(contact: Any) -> str:
    return " ".join(p for p in (contact.fields.get("firstName"), contact.fields.get("lastName")) if p)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_demo(stack: DevStack, *, log: Callable[[str], None] | None = None) -> DemoReport:
    """Run the scenario on a started stack (best with `background=False`) and return its report."""
    return Demo(stack, log=log or stack.stream.component("demo")).run()


def demo_config() -> DevConfig:
    """Free ports, nothing in the background, quick retries: the demo's own stack."""
    return DevConfig(
        gateway_port=0,
        moto_port=0,
        ghl_port=0,
        kayako_port=0,
        background=False,
        # The demo makes its own people; the dev fixtures would be unsynced extras in its checks.
        fixtures=False,
        ghl_access_token_ttl_s=OAUTH_ACCESS_TOKEN_TTL_S,
        env_overrides={"RETRY_BASE_SECONDS": "1", "RETRY_MAX_SECONDS": "1"},
        # One in-call retry, so the outage reaches the queue quickly instead of sleeping in the call.
        kayako_settings={"max_retries": 1, "max_total_wait_s": 2.0},
        capture_stdout=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="also show every component's log lines")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stack_logs = sys.stdout if args.verbose else io.StringIO()
    progress = sys.stdout

    def log(line: str) -> None:
        progress.write(f"[demo] {line}\n")
        progress.flush()

    try:
        with DevStack(demo_config(), out=stack_logs) as stack:
            log(f"stack up: gateway {stack.gateway_url}, GHL {stack.ghl_url}, Kayako {stack.kayako_url}")
            report = run_demo(stack, log=log)
    except PortBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not report.ok and isinstance(stack_logs, io.StringIO):
        tail = stack_logs.getvalue().splitlines()[-FAILURE_LOG_LINES:]
        print(f"\nlast {len(tail)} log lines of the stack (--verbose shows them all):\n" + "\n".join(tail))
    print()
    print(report.render())
    print(f"\n(demo took {time.perf_counter() - started:.1f}s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
