"""The demo's Payaca part: GHL ⇄ Payaca flows through the real path, then a consistency check.

Flows: a GHL contact upserted as a Payaca customer (company as its name, the person as its
primary contact, its address as the billing address); GHL tags of which one is longer than
Payaca's 30 characters (the others arrive, the long one is reported); a customer change in Payaca
back to the GHL contact; a project created and moved to a pipeline stage in Payaca becoming a GHL
note ("Project DEMO42 moved to Install") and the stage's tag (`payaca-stage-install`) on the
customer's contact; then the workflow API as a Payaca automation calls it, over HTTP through the
local gateway with the connection's key (the bundle of that contact, 304, a wrong key, task and
note writes that reach GHL and are not copied back to Payaca). Every change is made in a
sandbox's "UI" and travels as a real (HMAC-signed) webhook; the part only watches the far side.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.apps.payaca.stack import INSTALLER_EMAIL, PAYACA
from sandbox.demo.report import Check, StepFailed
from sandbox.demo.workflow_api import WorkflowRoundTrip, http_sender

if TYPE_CHECKING:
    from sandbox.demo.scenario import Demo

EMAIL = "hedy@demo.example"
ADDRESS = {"address1": "17 Frequency Lane", "city": "Bristol", "postalCode": "BS1 4DJ"}
LONG_TAG = "frequency-hopping-spread-spectrum"  # 33 characters


class PayacaDemo:
    app = "payaca"
    title = "Payaca"
    # One in-call retry, as for Kayako: an outage reaches the queue quickly.
    connection_settings: dict[str, Any] = {"max_retries": 1, "max_total_wait_s": 2.0}

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        self.ghl = demo.ghl
        self.payaca: Any = demo.stack.apps["payaca"].fake  # sandbox.apps.payaca.PayacaSandbox
        self.location_id = demo.location_id
        self.ghl_id: str | None = None
        self.customer_id: str | None = None
        self._trip: WorkflowRoundTrip | None = None

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        flows = [
            ("GHL contact → Payaca customer (upsert)", self.ghl_contact_upserted),
            ("GHL tags, one over 30 characters → Payaca", self.tags_with_one_too_long),
            ("Payaca customer change → GHL contact", self.customer_change_to_ghl),
            ("Payaca project stage move → GHL note + tag", self.stage_move_to_ghl),
        ]
        # The round trip is about Hedy, known only once the first flow ran: each step looks it up.
        names = [name for name, _ in self._round_trip_template().steps()]
        return flows + [(name, self._workflow_step(i)) for i, name in enumerate(names)]

    # -- the workflow API, as a Payaca automation calls it ----------------------------------------
    def _round_trip_template(self, contact_id: str = "") -> WorkflowRoundTrip:
        return WorkflowRoundTrip(
            send=http_sender(self.demo.stack.gateway_url, self._http()),
            connection_id=self.demo.stack.connection_ids[self.app],
            key=str(PAYACA.dev_workflow_api_key),
            contact_id=contact_id,
            settle=self.demo.settle,
            app_writes=self._payaca_writes,
        )

    def _http(self) -> httpx.Client:
        if not hasattr(self, "_client"):
            self._client = httpx.Client(timeout=10)
        return self._client

    def _workflow_step(self, index: int) -> Callable[[], str]:
        def run() -> str:
            if self._trip is None:
                if self.ghl_id is None:
                    raise StepFailed("needs Hedy's GHL contact, which an earlier flow did not create")
                self._trip = self._round_trip_template(self.ghl_id)
            return self._trip.steps()[index][1]()

        return run

    def _payaca_writes(self) -> int:
        from sandbox.demo.scenario import is_write

        return sum(1 for r in self.payaca.request_log if is_write(r.method, r.path))

    # -- the sides --------------------------------------------------------------------------------
    def customer(self) -> Any:
        for customer in self.payaca.store.customers.values():
            if EMAIL in customer.emails():
                self.customer_id = customer.id
                return customer
        return None

    def contact(self) -> Any:
        if self.ghl_id is None:
            return None
        return next((c for c in self.ghl.store.contacts(self.location_id) if c.id == self.ghl_id), None)

    def need_both(self) -> tuple[Any, Any]:
        contact, customer = self.contact(), self.customer()
        if contact is None or customer is None:
            raise StepFailed(f"needs {EMAIL} on GHL and Payaca, which an earlier flow did not create")
        return contact, customer

    # -- the flows ----------------------------------------------------------------------------------
    def ghl_contact_upserted(self) -> str:
        contact = self.ghl.ui_create_contact(
            self.location_id,
            firstName="Hedy",
            lastName="Lamarr",
            email=EMAIL,
            companyName="Lamarr Radio",
            **ADDRESS,
        )
        self.ghl_id = contact.id
        self.demo.until(
            "a Payaca customer for Hedy with her address",
            lambda: (c := self.customer()) is not None and c.name == "Lamarr Radio" and bool(c.addresses),
        )
        customer = self.customer()
        name = next(p for p in customer.contacts if p["isPrimaryContact"])["fullName"]
        billing = next(a for a in customer.addresses if a["isBillingAddress"])
        return (
            f"GHL {contact.id} → Payaca customer {self.customer_id} 'Lamarr Radio', contact '{name}', "
            f"billing address {billing['line1']}, {billing['city']} {billing['postcode']}"
        )

    def tags_with_one_too_long(self) -> str:
        contact, _ = self.need_both()
        self.ghl.ui_add_tags(self.location_id, contact.id, ["radio", LONG_TAG])
        self.demo.until("the tag 'radio' on the Payaca customer", lambda: "radio" in self.customer().tags)
        reports = [
            r["reason"]
            for r in self.demo.audit_rows(self.demo.stack.connection_ids[self.app])
            if r["event_type"] == "ContactTagUpdate" and "not sent to payaca" in r["reason"]
        ]
        if not reports:
            raise StepFailed("the tag too long for Payaca was not reported on the audit row")
        if LONG_TAG in self.customer().tags:
            raise StepFailed(f"Payaca holds {LONG_TAG!r}, longer than it accepts")
        return f"Payaca tags {sorted(self.customer().tags)}; audit: {reports[-1].split('; ')[-1]}"

    def customer_change_to_ghl(self) -> str:
        _, customer = self.need_both()
        self.payaca.ui_update_customer(customer.id, phoneNumber="+14155550177")
        self.demo.until(
            "Hedy's new phone in GHL",
            lambda: (c := self.contact()) is not None and c.fields.get("phone") == "+14155550177",
        )
        return f"Payaca customer {customer.id} phoneNumber → GHL contact {self.ghl_id} phone"

    def stage_move_to_ghl(self) -> str:
        _, customer = self.need_both()
        project = self.payaca.ui_create_project(
            customer.id, "DEMO42", stage="Survey booked", assign_to=INSTALLER_EMAIL
        )
        self.demo.until(
            "the project's note in GHL", lambda: "Project DEMO42 created in Survey booked" in self._notes()
        )
        self.payaca.ui_move_project(project.id, "Install")
        self.demo.until(
            "the stage move's note and tag in GHL",
            lambda: (
                "Project DEMO42 moved to Install" in self._notes() and "payaca-stage-install" in self._tags()
            ),
        )
        return (
            "project DEMO42 → Install: GHL note 'Project DEMO42 moved to Install', tag payaca-stage-install"
        )

    # -- the check ----------------------------------------------------------------------------------
    def consistency(self) -> list[Check]:
        contact, customer = self.contact(), self.customer()
        if contact is None or customer is None:
            return [Check("contact ⇄ customer", False, f"{EMAIL} is missing on one side")]
        primary: dict[str, Any] = next((p for p in customer.contacts if p["isPrimaryContact"]), {})
        ghl_person = (
            " ".join(p for p in (contact.fields.get("firstName"), contact.fields.get("lastName")) if p),
            contact.fields.get("email"),
            contact.fields.get("phone"),
            contact.fields.get("companyName"),
            tuple(contact.fields.get(k) for k in ADDRESS),
        )
        payaca_person = (
            primary.get("fullName"),
            primary.get("email"),
            primary.get("phoneNumber"),
            customer.name,
            next(((a["line1"], a["city"], a["postcode"]) for a in customer.addresses), None),
        )
        stage_tags = {t for t in self._tags() if t.startswith("payaca-stage-")}
        return [
            Check("contact ⇄ customer", ghl_person == payaca_person, f"{ghl_person} vs {payaca_person}"),
            Check(
                "stage tag = current stage",
                stage_tags == {"payaca-stage-install"},
                f"GHL stage tags {sorted(stage_tags)}",
            ),
        ]

    def _notes(self) -> set[str]:
        location = self.ghl.store.location(self.location_id)
        return {n.body for n in location.notes.get(self.ghl_id, {}).values()}

    def _tags(self) -> set[str]:
        contact = self.contact()
        return set(contact.tags) if contact is not None else set()
