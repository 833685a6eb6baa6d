"""World's consistency check: where GHL and each registered app disagree, read through the real
connectors (GHL's hub and each app's), outside the sync's call log."""

from typing import TYPE_CHECKING, Any

from ghlsync.apps.base import RECORD_OPS, Connector, Flow, Operation, as_contacts, as_upserts
from ghlsync.apps.ghl_hub import GhlHub
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import RecordRefused
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.links import Side

if TYPE_CHECKING:
    from sandbox.stack.world import World


def differences(world: "World") -> list[str]:
    """Where GHL and each app disagree, read through the real connectors.

    Every GHL contact must be linked to a person of every app and the reverse; linked pairs
    must agree on full name, email, phone (where the app can update contacts: eKyte keeps a
    person as created, each later change audited unsupported) and tags (where the app holds
    tags; an add-only app may keep more), on their tasks
    (title, completed) and notes (bodies) where both flow both ways and the app lists them; no
    two GHL contacts may share an email (a duplicate the sync created)."""
    ghl = world.ghl_reader()
    found: list[str] = []
    emails: dict[str, str] = {}
    for contact_id in world.ghl_contact_ids():
        contact = ghl.get_contact(contact_id)
        assert contact is not None
        if contact.email:
            if contact.email in emails:
                found.append(f"duplicate GHL contacts {emails[contact.email]} and {contact_id}")
            emails[contact.email] = contact_id
    for app in world.apps:
        found += _app_differences(world, app, ghl)
    return found


def _app_differences(world: "World", app: str, ghl: GhlHub) -> list[str]:
    reader = world.app_reader(app)
    if reader.capabilities.upserts_contacts:
        return _upsert_app_differences(world, app, ghl, reader)
    contacts = as_contacts(reader)
    found: list[str] = []
    linked: set[str] = set()
    for contact_id in world.ghl_contact_ids():
        contact = ghl.get_contact(contact_id)
        assert contact is not None
        link = world.link(EntityKind.CONTACT, Side.GHL, contact_id, app=app)
        if link is None or not link.active:
            found.append(f"GHL contact {contact_id} is not linked to {app}")
            continue
        linked.add(link.app.id)
        person = contacts.get_contact(link.app.id)
        if person is None:
            found.append(f"GHL contact {contact_id}: {app} record {link.app.id} is gone")
            continue
        if _updatable(reader) and _person(contact) != _person(person):
            found.append(f"contact {contact_id}: {_person(contact)} vs {_person(person)}")
        if reader.capabilities.tags.can_add and not _tags_agree(reader, contact, person):
            found.append(f"tags of {contact_id}: {sorted(contact.tags)} vs {sorted(person.tags)}")
        if _compared(reader, EntityKind.TASK):
            ghl_tasks = sorted((t.title, t.completed) for t in ghl.list_tasks(contact_id))
            app_tasks = sorted(
                (t.title, t.completed) for t in _children(reader, EntityKind.TASK, link.app.id)
            )
            if ghl_tasks != app_tasks:
                found.append(f"tasks of {contact_id}: {ghl_tasks} vs {app_tasks}")
        if _compared(reader, EntityKind.NOTE):
            ghl_notes = sorted(n.body for n in ghl.list_notes(contact_id))
            app_notes = sorted(n.body for n in _children(reader, EntityKind.NOTE, link.app.id))
            if ghl_notes != app_notes:
                found.append(f"notes of {contact_id}: {ghl_notes} vs {app_notes}")
    for person_id in world.app_person_ids(app):
        if person_id not in linked:
            found.append(f"{app} record {person_id} has no linked GHL contact")
    return found


def _upsert_app_differences(world: "World", app: str, ghl: GhlHub, reader: Connector) -> list[str]:
    """An app written whole and never read (Kixie's PowerList): every GHL contact it can hold is
    linked under the key it is held by and that entry exists; one it cannot hold (no phone) is not
    linked; every entry belongs to a linked contact."""
    upserts = as_upserts(reader)
    found: list[str] = []
    linked: set[str] = set()
    for contact_id in world.ghl_contact_ids():
        contact = ghl.get_contact(contact_id)
        assert contact is not None
        link = world.link(EntityKind.CONTACT, Side.GHL, contact_id, app=app)
        try:
            key = upserts.contact_key(contact)
        except RecordRefused:
            if link is not None and link.active:
                found.append(f"GHL contact {contact_id} is linked to {app} though {app} cannot hold it")
            continue
        if link is None or not link.active:
            found.append(f"GHL contact {contact_id} is not linked to {app}")
        elif link.app.id != key:
            found.append(f"GHL contact {contact_id} is linked to {app} {link.app.id}, held as {key}")
        else:
            linked.add(key)
    held = set(world.app_person_ids(app))
    found += [f"{app} has no entry {key} of a linked GHL contact" for key in sorted(linked - held)]
    found += [f"{app} record {key} has no linked GHL contact" for key in sorted(held - linked)]
    return found


def _person(contact: CanonicalContact) -> tuple[Any, ...]:
    # An app may hold one full name (Kayako) with first/last split from it: the full name compares.
    full_name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return (full_name, contact.email, contact.phone)


def _updatable(reader: Connector) -> bool:
    support = reader.capabilities.support(EntityKind.CONTACT)
    return support is not None and support.can(Operation.UPDATE)


def _tags_agree(reader: Connector, contact: CanonicalContact, person: CanonicalContact) -> bool:
    """Equal tag sets (case-insensitive); an app that can only add tags (Payaca) may keep tags GHL
    removed, so there GHL's tags must be among the app's."""
    ghl_tags = {t.lower() for t in contact.tags}
    app_tags = {t.lower() for t in person.tags}
    return ghl_tags <= app_tags if not reader.capabilities.tags.can_remove else ghl_tags == app_tags


def _compared(reader: Connector, entity: EntityKind) -> bool:
    """Tasks or notes are compared where they flow both ways and the app lists them per contact
    (Payaca's project notes reach GHL but cannot be listed back)."""
    support = reader.capabilities.support(entity)
    return support is not None and support.flow is Flow.BOTH and support.can(Operation.LIST)


def _children(reader: Connector, entity: EntityKind, contact_id: str) -> list[Any]:
    """The tasks or notes the app lists under a contact (none where it does not list them)."""
    list_under = RECORD_OPS[entity].list_under
    return list_under(reader, contact_id) if list_under is not None else []
