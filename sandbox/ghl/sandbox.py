"""GhlSandbox: one object holding a fake GHL (state, auth, limits, webhooks, faults) and its app."""

import time
from collections.abc import Callable, Iterable
from typing import Any

import phonenumbers

from sandbox.fakes.base import FakeApp
from sandbox.fakes.clock import Clock
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.webhooks import Outbox, Sender, http_sender
from sandbox.ghl import validation as dto
from sandbox.ghl.app import create_app
from sandbox.ghl.crm import Crm, UpdateRules
from sandbox.ghl.oauth import ACCESS_TOKEN_TTL_S, OAuthApp, OAuthServer
from sandbox.ghl.ratelimit import GhlBudget
from sandbox.ghl.search_index import SearchIndex
from sandbox.ghl.state import Appointment, Contact, IdFactory, Location, Note, Store, Task, iso_ms
from sandbox.ghl.webhooks import MAX_RETRIES, Delivery, Signer, Target, compact_json, retry_rule

_UI_CONTACT_FIELDS = set(dto.CREATE_CONTACT.rules) - {"locationId"}


class GhlSandbox(FakeApp):
    """A faithful fake of GHL API v2 for one or more locations. See the package docstring."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        burst_limit: int = 100,
        burst_interval_ms: int = 10_000,
        daily_limit: int = 200_000,
        webhook_retry_interval_s: float = 600.0,
        webhook_max_retries: int = MAX_RETRIES,
        seed: int = 0,
        not_found_status: int = 404,
        access_token_ttl_s: int = ACCESS_TOKEN_TTL_S,
        sign_rsa: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        webhook_sender: Sender | None = None,
        lowercase_tags: bool = False,
        updates: UpdateRules | None = None,
        retry_after_on_429: bool = False,
        search_lag_s: float = 0.0,
        previous_access_token_valid_after_refresh: bool = True,
        unknown_custom_fields: str = "ignore",
    ) -> None:
        """The switches cover what no GHL source confirms (README "Unconfirmed"): `not_found_status`,
        `lowercase_tags`, `updates` (what moves `dateUpdated` and fires ContactUpdate, see
        UpdateRules), `retry_after_on_429` (GHL documents no Retry-After on its 429s: off, a
        client must pace on the X-RateLimit-* headers alone), `search_lag_s` (how far search and the
        contact listing trail writes; GHL gives no figure, see search_index.py),
        `previous_access_token_valid_after_refresh` (oauth.py) and `unknown_custom_fields`
        (custom_fields.py)."""
        prefix = f"ghl-sandbox:{seed}"
        super().__init__(
            clock=clock, sleep=sleep, faults=FaultInjector(f"{prefix}:faults", auth_paths=("/oauth",))
        )
        self.seed_value = seed
        self.sign_rsa = sign_rsa
        self.retry_after_on_429 = retry_after_on_429
        self.store = Store(unknown_custom_fields=unknown_custom_fields)
        self._ids = IdFactory(f"{prefix}:ids")
        self._trace_ids = IdFactory(f"{prefix}:trace")
        self._webhook_ids = IdFactory(f"{prefix}:webhooks")
        self.crm = Crm(
            self.store,
            self._ids,
            clock,
            self._emit,
            not_found_status=not_found_status,
            lowercase_tags=lowercase_tags,
            updates=updates,
            index=SearchIndex(self.store, lambda: int(clock() * 1000), search_lag_s),
        )
        self.oauth = OAuthServer(
            clock, IdFactory(f"{prefix}:oauth"), access_token_ttl_s, previous_access_token_valid_after_refresh
        )
        self.rate_limiter = GhlBudget(
            clock, burst_limit=burst_limit, burst_interval_ms=burst_interval_ms, daily_limit=daily_limit
        )
        self.signer = Signer(seed)
        self.outbox: Outbox[Delivery] = Outbox(
            clock,
            self.lock,
            webhook_sender or http_sender(),
            retry_rule(webhook_retry_interval_s, webhook_max_retries),
        )
        # The app id stamped on deliveries to extra targets (no Marketplace app behind them).
        self.default_app_id = IdFactory(f"{prefix}:app").hex_id()
        self._extra_targets: list[tuple[str, str | None, str]] = []  # (url, location or None, app id)
        self._seeded: dict[str, int] = {}
        self._businesses: dict[str, list[dict[str, str]]] = {}  # location -> BusinessDto, oldest first
        create_app(self)

    # --- setup ---

    def add_business(self, location_id: str, name: str) -> str:
        """A business (Business Profile) of the location; its id, to give contacts (`seed(business_id=)`)."""
        with self.lock:
            business_id = self._ids.hex_id()
            stamp = iso_ms(int(self.clock() * 1000))
            self._businesses.setdefault(location_id, []).append(
                {
                    "id": business_id,
                    "name": name,
                    "locationId": location_id,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
            )
            return business_id

    def businesses_of(self, location_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [dict(b) for b in self._businesses.get(location_id, [])]

    def add_location(
        self,
        location_id: str,
        *,
        token: str | None = None,
        allow_duplicates: bool = False,
        scopes: Iterable[str] | None = None,
        company_id: str | None = None,
        duplicate_fields: tuple[str, ...] = ("email", "phone"),
        country: str = "US",
        name: str | None = None,
    ) -> Location:
        """A sub-account; `token` is its private-integration token (None: OAuth installs only);
        `country` (ISO alpha-2) places phones written without a country code. An agency install
        of the company with installToFutureLocations extends to it (INSTALL webhook)."""
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"country {country!r} is no ISO alpha-2 region with a numbering plan")
        with self.lock:
            if location_id in self.store.locations:
                raise ValueError(f"location {location_id!r} already exists")
            location = Location(
                location_id,
                company_id or self._ids.firestore_id(),
                allow_duplicates=allow_duplicates,
                duplicate_fields=duplicate_fields,
                country=country,
                name=name or f"Location {location_id}",
            )
            self.store.locations[location_id] = location
            if token is not None:
                self.oauth.add_pit(location_id, token, scopes)
            for company in self.oauth.follows_new_locations(location.company_id):
                company.approved_locations.add(location_id)
                installation, _ = self.oauth.install_location(
                    company.client_id, location_id, location.company_id, company.user_id
                )
                self._queue_install(company.client_id, location_id, installation.company_id, "Location")
            return location

    def add_pit(self, location_id: str, token: str, *, scopes: Iterable[str] | None = None) -> None:
        """Another private-integration token (e.g. "rotate and expire later" keeps two valid)."""
        with self.lock:
            self.store.location(location_id)
            self.oauth.add_pit(location_id, token, scopes)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.oauth.credentials[token].revoked = True

    def add_oauth_client(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str | None = None,
        webhook_url: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> OAuthApp:
        with self.lock:
            return self.oauth.add_app(
                client_id, client_secret, redirect_uri=redirect_uri, webhook_url=webhook_url, scopes=scopes
            )

    def authorize(self, client_id: str, location_id: str) -> str:
        """The consent screen: installs the app (INSTALL webhook) and returns a single-use code."""
        with self.lock:
            location = self.store.location(location_id)
            code, installation, newly = self.oauth.authorize(client_id, location_id, location.company_id)
            if newly:
                self._queue_install(client_id, location_id, installation.company_id, "Location")
            return code

    def authorize_company(
        self,
        client_id: str,
        company_id: str,
        location_ids: Iterable[str] | None = None,
        *,
        install_to_future_locations: bool = False,
    ) -> str:
        """The agency's consent screen (a bulk installation): approves `location_ids` of the
        company (None: all of them), sends one Company INSTALL and returns a single-use code."""
        with self.lock:
            own = sorted(loc.id for loc in self.store.locations.values() if loc.company_id == company_id)
            chosen = own if location_ids is None else list(location_ids)
            strangers = sorted(set(chosen) - set(own))
            if strangers:
                raise ValueError(f"locations {strangers} do not belong to company {company_id!r}")
            code, company, _ = self.oauth.authorize_company(
                client_id,
                company_id,
                chosen,
                install_to_future_locations=install_to_future_locations,
                approve_all_locations=location_ids is None,
            )
            self._queue_install(client_id, None, company_id, "Company", user_id=company.user_id)
            return code

    def uninstall_company(self, client_id: str, company_id: str) -> None:
        """The agency removes the app: its locations' and its own tokens stop working; one
        company-level UNINSTALL (companyId, no locationId) is sent."""
        with self.lock:
            self.oauth.uninstall_company(client_id, company_id)
            app = self.oauth.apps[client_id]
            if app.webhook_url:
                target = Target(app.webhook_url, app.app_id, app.version_id)
                self._queue(target, None, "UNINSTALL", {"companyId": company_id})

    def _queue_install(
        self,
        client_id: str,
        location_id: str | None,
        company_id: str,
        install_type: str,
        *,
        user_id: str | None = None,
    ) -> None:
        """INSTALL to the app's default webhook URL (a Company install names no location:
        ⚠ UNCONFIRMED, as is one Location INSTALL per location added under installToFutureLocations)."""
        app = self.oauth.apps[client_id]
        if not app.webhook_url:
            return
        if user_id is None and location_id is not None:
            user_id = self.oauth.installations[(client_id, location_id)].user_id
        data = {
            "installType": install_type,
            "companyId": company_id,
            "userId": user_id,
            "isWhitelabelCompany": False,
        }
        self._queue(Target(app.webhook_url, app.app_id, app.version_id), location_id, "INSTALL", data)

    def uninstall(self, client_id: str, location_id: str) -> None:
        """The location removes the app: its tokens stop working and UNINSTALL is sent."""
        with self.lock:
            self.oauth.uninstall(client_id, location_id)
            app = self.oauth.apps[client_id]
            if app.webhook_url:
                self._queue(Target(app.webhook_url, app.app_id, app.version_id), location_id, "UNINSTALL", {})

    def register_webhook(
        self, url: str, *, location_id: str | None = None, app_id: str | None = None
    ) -> None:
        """An extra target for every location's events (or one location's)."""
        with self.lock:
            self._extra_targets.append((url, location_id, app_id or self.default_app_id))

    def seed(
        self,
        location_id: str,
        contacts: int,
        tasks_per_contact: int = 0,
        notes_per_contact: int = 0,
        *,
        emit_webhooks: bool = False,
        business_id: str | None = None,
    ) -> list[str]:
        """Bulk-create contacts (with tasks and notes) whose ids and content depend only on the
        seed, the location and how many were seeded there before. No webhooks unless asked.
        An unknown location or a negative count is refused (KeyError / ValueError) before anything
        changes: a refused seed must not move the offset the next seed's ids derive from."""
        counts = {
            "contacts": contacts,
            "tasksPerContact": tasks_per_contact,
            "notesPerContact": notes_per_contact,
        }
        for name, count in counts.items():
            if count < 0:
                raise ValueError(f"{name} must be 0 or more, not {count}")
        with self.lock:
            self.store.location(location_id)
            offset = self._seeded.get(location_id, 0)
            self._seeded[location_id] = offset + contacts
            seed_ids = IdFactory(f"ghl-sandbox:{self.seed_value}:seed:{location_id}:{offset}")
            emit = self._emit if emit_webhooks else lambda *event: None  # silent bulk seeding
            crm = Crm(
                self.store,
                seed_ids,
                self.clock,
                emit,
                not_found_status=self.crm.not_found_status,
                index=self.crm.index,
            )
            now_ms = int(self.clock() * 1000)
            ids = []
            for i in range(contacts):
                n = offset + i
                contact = crm.create_contact(
                    location_id,
                    {
                        "firstName": f"Seed{n}",
                        "lastName": "Contact",
                        "email": f"seed{n}@example.test",
                        "phone": f"+1555{n:07d}",
                        "tags": ["seeded"],
                        "source": "seed",
                    },
                    enforce_duplicates=False,
                )
                # Distinct, increasing dateAdded keeps listing order deterministic.
                contact.date_added_ms = contact.date_updated_ms = now_ms - (contacts - i) * 1000
                contact.business_id = business_id
                crm.index.backdated(contact)
                for j in range(tasks_per_contact):
                    crm.create_task(
                        contact,
                        {
                            "title": f"Task {j} for Seed{n}",
                            "dueDate": iso_ms(now_ms + (j + 1) * 86_400_000),
                            "completed": j % 2 == 1,
                        },
                    )
                for j in range(notes_per_contact):
                    crm.create_note(contact, {"body": f"Note {j} for Seed{n}"})
                ids.append(contact.id)
            return ids

    # --- in-process use ---

    @property
    def public_keys(self) -> dict[str, str]:
        return self.signer.public_keys

    def next_trace_id(self) -> str:
        return self._trace_ids.uuid()

    # --- webhooks ---

    @property
    def deliveries(self) -> list[Delivery]:
        return self.outbox.deliveries

    def _targets(self, location_id: str) -> list[Target]:
        targets = []
        for (client_id, installed_on), installation in self.oauth.installations.items():
            app = self.oauth.apps[client_id]
            if installed_on == location_id and installation.active and app.webhook_url:
                targets.append(Target(app.webhook_url, app.app_id, app.version_id))
        for url, only_location, app_id in self._extra_targets:
            if only_location in (None, location_id):
                targets.append(Target(url, app_id, app_id))
        return targets

    def _emit(self, location_id: str, event_type: str, data: dict[str, Any]) -> None:
        for target in self._targets(location_id):
            self._queue(target, location_id, event_type, data)

    def _queue(self, target: Target, location_id: str | None, event_type: str, data: dict[str, Any]) -> None:
        """`location_id` None: a company-level event, whose body carries no locationId."""
        now = self.clock()
        webhook_id = self._webhook_ids.uuid()
        payload = {
            "type": event_type,
            **({"locationId": location_id} if location_id is not None else {}),
            "versionId": target.version_id,
            "appId": target.app_id,
            **data,
            "timestamp": iso_ms(int(now * 1000)),
            "webhookId": webhook_id,
        }
        body = compact_json(payload)
        headers = {"Content-Type": "application/json", "x-ghl-signature": self.signer.sign_ed25519(body)}
        if self.sign_rsa:
            headers["x-wh-signature"] = self.signer.sign_rsa(body)
        self.outbox.queue(
            Delivery(
                webhook_id=webhook_id,
                event_type=event_type,
                location_id=location_id or "",
                url=target.url,
                body=body,
                headers=headers,
                next_attempt_at=now,
            )
        )

    # --- a user editing in the GHL UI (same rules and webhooks as the API, no rate limit) ---

    def ui_create_contact(self, location_id: str, **fields: Any) -> Contact:
        """No duplicate rule: the UI lets a user save a duplicate, which identity tests need."""
        business_id = fields.pop("businessId", None)
        _check_ui_fields(fields)
        dto.CREATE_CONTACT.validate({**fields, "locationId": location_id})
        with self.lock:
            contact = self.crm.create_contact(location_id, fields, enforce_duplicates=False)
            if business_id is not None:
                contact.business_id = business_id
            return contact

    def ui_update_contact(self, location_id: str, contact_id: str, **fields: Any) -> Contact:
        business_id = fields.pop("businessId", None)
        _check_ui_fields(fields)
        dto.UPDATE_CONTACT.validate({k: v for k, v in fields.items() if k not in {"gender", "companyName"}})
        with self.lock:
            contact = self.crm.contact(location_id, contact_id)
            self.crm.update_contact(contact, fields, enforce_duplicates=False)
            if business_id is not None:
                self.crm.set_business(contact, business_id)
            return contact

    def ui_delete_contact(self, location_id: str, contact_id: str) -> None:
        with self.lock:
            self.crm.delete_contact(self.crm.contact(location_id, contact_id))

    def ui_add_tags(self, location_id: str, contact_id: str, tags: list[str]) -> list[str]:
        with self.lock:
            return self.crm.add_tags(self.crm.contact(location_id, contact_id), tags)

    def ui_remove_tags(self, location_id: str, contact_id: str, tags: list[str]) -> list[str]:
        with self.lock:
            return self.crm.remove_tags(self.crm.contact(location_id, contact_id), tags)

    def ui_create_task(self, location_id: str, contact_id: str, **fields: Any) -> Task:
        body = {"completed": False, **fields}
        dto.CREATE_TASK.validate(body)
        with self.lock:
            return self.crm.create_task(self.crm.contact(location_id, contact_id), body)

    def ui_update_task(self, location_id: str, contact_id: str, task_id: str, **fields: Any) -> Task:
        dto.UPDATE_TASK.validate(fields)
        with self.lock:
            contact = self.crm.contact(location_id, contact_id)
            return self.crm.update_task(contact, self.crm.task(contact, task_id), fields)

    def ui_complete_task(
        self, location_id: str, contact_id: str, task_id: str, completed: bool = True
    ) -> Task:
        return self.ui_update_task(location_id, contact_id, task_id, completed=completed)

    def ui_delete_task(self, location_id: str, contact_id: str, task_id: str) -> None:
        with self.lock:
            contact = self.crm.contact(location_id, contact_id)
            self.crm.delete_task(contact, self.crm.task(contact, task_id))

    def ui_create_note(self, location_id: str, contact_id: str, **fields: Any) -> Note:
        dto.CREATE_NOTE.validate(fields)
        with self.lock:
            return self.crm.create_note(self.crm.contact(location_id, contact_id), fields)

    def ui_update_note(self, location_id: str, contact_id: str, note_id: str, **fields: Any) -> Note:
        dto.UPDATE_NOTE.validate(fields)
        with self.lock:
            contact = self.crm.contact(location_id, contact_id)
            return self.crm.update_note(contact, self.crm.note(contact, note_id), fields)

    def ui_delete_note(self, location_id: str, contact_id: str, note_id: str) -> None:
        with self.lock:
            contact = self.crm.contact(location_id, contact_id)
            self.crm.delete_note(contact, self.crm.note(contact, note_id))

    def ui_create_appointment(self, location_id: str, contact_id: str, **fields: Any) -> Appointment:
        """Fields are Appointment attributes: start_time, end_time (ISO), title, calendar_id, ..."""
        with self.lock:
            return self.crm.create_appointment(self.crm.contact(location_id, contact_id), **fields)

    def ui_update_appointment(
        self, location_id: str, contact_id: str, appointment_id: str, **fields: Any
    ) -> Appointment:
        with self.lock:
            return self.crm.update_appointment(
                self.crm.contact(location_id, contact_id), appointment_id, **fields
            )

    def ui_delete_appointment(self, location_id: str, contact_id: str, appointment_id: str) -> None:
        with self.lock:
            self.crm.delete_appointment(self.crm.contact(location_id, contact_id), appointment_id)


def _check_ui_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - _UI_CONTACT_FIELDS
    if unknown:
        raise ValueError(f"unknown contact fields: {sorted(unknown)}")
