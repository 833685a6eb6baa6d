"""The Payaca fake's data: customers, users, pipelines, projects (+ [PROPOSAL] notes and tasks).

Rules reproduced from target-apps.md §4 (documented unless marked):
- ids are opaque strings (`cus_…`, `prj_…`): a client must never parse them;
- "Customers: Create or update": a customer holding a contact with one of the body's e-mails is
  added to (new contacts appended, a same-e-mail contact updated, `name` kept unless a new one is
  given); with several, the earliest created; otherwise a new customer. `name` is required (may be
  null), `contacts` non-empty, each with `fullName`, `email`, `phoneNumber`, `isPrimaryContact`;
  addresses nested (`address: {line1…}`) or flat (an earlier snapshot) are both accepted, and
  "Customers: Update" replaces the list with `addresses` [UNVERIFIED] (an entry naming a known id
  keeps it);
- tags are 1-30 characters each (emoji allowed), kept in their first spelling;
- projects under a customer: pipeline and stage by title or id (a stage needs its pipeline),
  `assignTo.email` must be a Payaca user, `notes[]` strings, `siteAddress` object or string;
- every change is a `Change` for the webhook emitter (customer.* names inferred).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.apps.payaca.errors import Json, invalid, not_found
from sandbox.apps.payaca.shapes import (
    checked_address,
    checked_contact,
    custom_fields,
    non_empty_list,
    one_primary,
    tag_names,
)
from sandbox.fakes.clock import Clock

DEFAULT_PIPELINES = {"Sales": ("New lead", "Survey booked", "Quote sent", "Install", "Complete")}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Change:
    event: str  # x-payaca-event
    body: Json  # {"customer": …} or {"project": …}


@dataclass
class Customer:
    id: str
    name: str | None
    contacts: list[Json]
    addresses: list[Json]
    custom_fields: Json
    created_at: float
    updated_at: float
    tags: list[str] = field(default_factory=list)

    def emails(self) -> set[str]:
        return {str(c["email"]).strip().lower() for c in self.contacts if c.get("email")}


@dataclass
class Project:
    id: str
    customer_id: str
    reference: str | None
    pipeline: Json
    stage: Json | None
    tags: list[str]
    assigned_to: Json | None
    site_address: Any
    custom_fields: Json
    notes: list[Json]
    created_at: float
    updated_at: float
    tasks: list[str] = field(default_factory=list)


class PayacaStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.customers: dict[str, Customer] = {}
        self.projects: dict[str, Project] = {}
        self.tasks: dict[str, Json] = {}
        self.users: dict[str, str] = {}  # email (lower case) -> full name
        self.pipelines: dict[str, Json] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self._counter = 0
        for title, stages in DEFAULT_PIPELINES.items():
            self.add_pipeline(title, stages)

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter:04d}x"

    def _emit(self, event: str, body: Json) -> None:
        for listener in self.listeners:
            listener(Change(event, body))

    # -- setup ------------------------------------------------------------------------------
    def add_user(self, email: str, full_name: str) -> None:
        self.users[email.strip().lower()] = full_name

    def add_pipeline(self, title: str, stages: tuple[str, ...]) -> Json:
        pipeline_id = self._next_id("pip")
        pipeline: Json = {
            "id": pipeline_id,
            "title": title,
            "stages": [{"id": self._next_id("stg"), "title": s} for s in stages],
        }
        self.pipelines[pipeline_id] = pipeline
        return pipeline

    # -- customers --------------------------------------------------------------------------
    def customer_json(self, customer: Customer) -> Json:
        return {
            "id": customer.id,
            "name": customer.name,
            "contacts": [dict(c) for c in customer.contacts],
            "addresses": [dict(a) for a in customer.addresses],
            "customFields": dict(customer.custom_fields),
            "tags": list(customer.tags),
            "createdAt": _iso(customer.created_at),
            "updatedAt": _iso(customer.updated_at),
        }

    def customer(self, customer_id: str) -> Customer:
        found = self.customers.get(customer_id)
        if found is None:
            raise not_found("customer", customer_id)
        return found

    def upsert_customer(self, body: Json) -> tuple[Customer, bool]:
        """Create or update by contact e-mail; (customer, created)."""
        if "name" not in body or not (body["name"] is None or isinstance(body["name"], str)):
            raise invalid("name is required (it may be null)", "name")
        contacts = [
            checked_contact(c, i) for i, c in enumerate(non_empty_list(body.get("contacts"), "contacts"))
        ]
        addresses = [checked_address(a) for a in body.get("addresses") or []]
        emails = {str(c["email"]).lower() for c in contacts if c.get("email")}
        matches = [c for c in self.customers.values() if c.emails() & emails]
        now = self.clock()
        if not matches:
            customer = Customer(
                id=self._next_id("cus"),
                name=body["name"],
                contacts=[{**c, "id": self._next_id("con")} for c in contacts],
                addresses=[{**a, "id": self._next_id("adr")} for a in addresses],
                custom_fields=custom_fields(body.get("customFields")),
                created_at=now,
                updated_at=now,
            )
            self.customers[customer.id] = customer
            self._emit("customer.created", {"customer": self.customer_json(customer)})
            return customer, True
        customer = min(matches, key=lambda c: (c.created_at, c.id))  # the earliest created
        for contact in contacts:
            same = next(
                (
                    c
                    for c in customer.contacts
                    if contact.get("email") and (c.get("email") or "").lower() == contact["email"].lower()
                ),
                None,
            )
            if same is not None:
                same.update({k: v for k, v in contact.items() if k != "id"})
            else:
                customer.contacts.append({**contact, "id": self._next_id("con")})
        one_primary(customer.contacts, contacts)
        if body["name"] is not None:
            customer.name = body["name"]
        customer.addresses += [{**a, "id": self._next_id("adr")} for a in addresses]
        customer.custom_fields.update(custom_fields(body.get("customFields")))
        customer.updated_at = now
        self._emit("customer.updated", {"customer": self.customer_json(customer)})
        return customer, False

    def delete_customer(self, customer_id: str) -> None:
        """Gone with its projects (Payaca documents no delete API nor a deletion webhook, so none
        is emitted: the sync finds it by its daily id diff)."""
        self.customer(customer_id)
        del self.customers[customer_id]
        for project in [p for p in self.projects.values() if p.customer_id == customer_id]:
            for task_id in project.tasks:
                self.tasks.pop(task_id, None)
            del self.projects[project.id]

    def update_customer(self, customer_id: str, body: Json) -> Customer:
        customer = self.customer(customer_id)
        if "name" in body:
            if not (body["name"] is None or isinstance(body["name"], str)):
                raise invalid("name must be a string or null", "name")
            customer.name = body["name"]
        if "contacts" in body:
            contacts = [
                checked_contact(c, i) for i, c in enumerate(non_empty_list(body["contacts"], "contacts"))
            ]
            known = {c["id"] for c in customer.contacts}
            customer.contacts = [
                {**c, "id": c["id"] if c.get("id") in known else self._next_id("con")} for c in contacts
            ]
        if "addresses" in body:
            # [UNVERIFIED] in the docs: the list is replaced, entries naming a known id keep it.
            raw = body["addresses"]
            if not isinstance(raw, list):
                raise invalid("addresses is a list", "addresses")
            known = {a["id"] for a in customer.addresses}
            customer.addresses = [
                {**checked_address(a), "id": a["id"] if a.get("id") in known else self._next_id("adr")}
                for a in raw
            ]
        if "customFields" in body:
            for key, value in custom_fields(body["customFields"], keep_null=True).items():
                if value is None:
                    customer.custom_fields.pop(key, None)
                else:
                    customer.custom_fields[key] = value
        customer.updated_at = self.clock()
        self._emit("customer.updated", {"customer": self.customer_json(customer)})
        return customer

    def change_tags(self, customer_id: str, names: Any, *, add: bool) -> Customer:
        customer = self.customer(customer_id)
        wanted = tag_names(names)
        held = {t.lower(): t for t in customer.tags}
        if add:
            customer.tags += [t for t in wanted if t.lower() not in held]
        else:
            gone = {t.lower() for t in wanted}
            customer.tags = [t for t in customer.tags if t.lower() not in gone]
        customer.updated_at = self.clock()
        self._emit("customer.updated", {"customer": self.customer_json(customer)})
        return customer

    def search(self, email: str | None) -> list[Customer]:
        found = sorted(self.customers.values(), key=lambda c: (c.created_at, c.id))
        if email:
            found = [c for c in found if email.strip().lower() in c.emails()]
        return found

    # -- projects ---------------------------------------------------------------------------
    def project_json(self, project: Project) -> Json:
        user = project.assigned_to
        return {
            "id": project.id,
            "reference": project.reference,
            "pipeline": {"id": project.pipeline["id"], "title": project.pipeline["title"]},
            "pipelineStage": dict(project.stage) if project.stage else None,
            "customer": self.customer_json(self.customers[project.customer_id]),
            "customerId": project.customer_id,
            "tags": list(project.tags),
            "assignedTo": dict(user) if user else None,
            "siteAddress": project.site_address,
            "customFields": dict(project.custom_fields),
            "notes": [dict(n) for n in project.notes],
            "createdAt": _iso(project.created_at),
            "updatedAt": _iso(project.updated_at),
        }

    def project(self, project_id: str) -> Project:
        found = self.projects.get(project_id)
        if found is None:
            raise not_found("project", project_id)
        return found

    def _pipeline(self, ref: Any) -> Json:
        if not isinstance(ref, dict) or not (ref.get("id") or ref.get("title")):
            raise invalid("pipeline is given by title or id", "pipeline")
        for pipeline in self.pipelines.values():
            if ref.get("id") == pipeline["id"] or ref.get("title") == pipeline["title"]:
                return pipeline
        raise invalid(f"unknown pipeline {ref.get('id') or ref.get('title')!r}", "pipeline")

    def _stage(self, pipeline: Json, ref: Any) -> Json:
        if not isinstance(ref, dict) or not (ref.get("id") or ref.get("title")):
            raise invalid("pipelineStage is given by title or id", "pipelineStage")
        for stage in pipeline["stages"]:
            if ref.get("id") == stage["id"] or ref.get("title") == stage["title"]:
                return dict(stage)
        raise invalid(
            f"unknown stage {ref.get('id') or ref.get('title')!r} in {pipeline['title']}", "pipelineStage"
        )

    def _assignee(self, ref: Any) -> Json | None:
        if ref is None:
            return None
        email = str(ref.get("email") or "").strip().lower() if isinstance(ref, dict) else ""
        if email not in self.users:
            raise invalid("assignTo.email must be a Payaca user", "assignTo.email")
        return {"fullName": self.users[email], "email": email}

    def create_project(self, customer_id: str, body: Json) -> Project:
        self.customer(customer_id)
        if "pipelineStage" in body and "pipeline" not in body:
            raise invalid("pipelineStage requires pipeline", "pipelineStage")
        pipeline = (
            self._pipeline(body["pipeline"]) if "pipeline" in body else next(iter(self.pipelines.values()))
        )
        stage = (
            self._stage(pipeline, body["pipelineStage"])
            if "pipelineStage" in body
            else dict(pipeline["stages"][0])
        )
        notes = body.get("notes") or []
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise invalid("notes is a list of strings", "notes")
        now = self.clock()
        project = Project(
            id=self._next_id("prj"),
            customer_id=customer_id,
            reference=body.get("reference"),
            pipeline=pipeline,
            stage=stage,
            tags=tag_names(body.get("tags") or []),
            assigned_to=self._assignee(body.get("assignTo")),
            site_address=body.get("siteAddress"),
            custom_fields=custom_fields(body.get("customFields")),
            notes=[],
            created_at=now,
            updated_at=now,
        )
        project.notes = [self._note(n) for n in notes]
        self.projects[project.id] = project
        self._emit("project.created", {"project": self.project_json(project)})
        return project

    def update_project(self, project_id: str, body: Json) -> Project:
        """ "Projects: Update" (body UNVERIFIED: the create's optional fields). A stage change
        emits project.pipelineStageChanged."""
        project = self.project(project_id)
        before = project.stage
        if "pipeline" in body:
            project.pipeline = self._pipeline(body["pipeline"])
            if "pipelineStage" not in body:
                project.stage = dict(project.pipeline["stages"][0])
        if "pipelineStage" in body:
            project.stage = self._stage(project.pipeline, body["pipelineStage"])
        if "assignTo" in body:
            project.assigned_to = self._assignee(body["assignTo"])
        if "tags" in body:
            project.tags = tag_names(body["tags"])
        if "reference" in body:
            project.reference = body["reference"]
        project.updated_at = self.clock()
        moved = (before or {}).get("id") != (project.stage or {}).get("id")
        self._emit(
            "project.pipelineStageChanged" if moved else "project.updated",
            {"project": self.project_json(project)},
        )
        return project

    def _note(self, text: str, created_by: str | None = None) -> Json:
        return {
            "id": self._next_id("not"),
            "body": text,
            "createdAt": _iso(self.clock()),
            "createdBy": created_by,
        }

    # -- [PROPOSAL] notes and tasks ---------------------------------------------------------
    def add_note(self, project_id: str, text: Any) -> Json:
        if not isinstance(text, str) or not text.strip():
            raise invalid("note is a non-empty string", "note")
        note = self._note(text, created_by="api")
        self.project(project_id).notes.append(note)
        return note

    def create_task(self, project_id: str, body: Json) -> Json:
        project = self.project(project_id)
        task = {
            "id": self._next_id("tsk"),
            "projectId": project.id,
            "eventId": None,
            **self._task_fields(body, full=True),
        }
        self.tasks[task["id"]] = task
        project.tasks.append(task["id"])
        return task

    def update_task(self, task_id: str, body: Json) -> Json:
        task = self.tasks.get(task_id)
        if task is None:
            raise not_found("task", task_id)
        task.update(self._task_fields(body, full=False))
        return task

    def _task_fields(self, body: Json, *, full: bool) -> Json:
        fields: Json = {}
        if full or "name" in body:
            if not isinstance(body.get("name"), str) or not body["name"].strip():
                raise invalid("name is required", "name")
            fields["name"] = body["name"]
        if full or "status" in body:
            status = body.get("status", "toDo")
            if status not in ("toDo", "inProgress", "done"):
                raise invalid("status is toDo, inProgress or done", "status")
            fields["status"] = status
        if full or "deadlineDate" in body:
            fields["deadlineDate"] = body.get("deadlineDate")
        if full or "assignTo" in body:
            fields["assignedTo"] = self._assignee(body.get("assignTo"))
        return fields
