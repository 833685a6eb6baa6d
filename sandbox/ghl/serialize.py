"""JSON shapes: REST responses (per the OpenAPI schemas) and webhook event data (per the docs).

Absent values are omitted rather than sent as null, like GHL does.
"""

from typing import Any

from sandbox.ghl.state import Appointment, Contact, Note, Task, iso_ms


def _present(pairs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in pairs.items() if value is not None}


def full_name(contact: Contact) -> str | None:
    parts = [contact.fields.get("firstName"), contact.fields.get("lastName")]
    joined = " ".join(part for part in parts if part)
    return joined or contact.fields.get("name")


def custom_fields_read(contact: Contact) -> list[dict[str, Any]]:
    """Stored as {id: value}; read back as [{id, value}]."""
    return [
        {"id": field_id, "value": value} for field_id, value in contact.fields.get("customFields", {}).items()
    ]


def contact_json(contact: Contact) -> dict[str, Any]:
    """GET /contacts/{id}, PUT and upsert (`GetContectByIdSchema` plus live extras)."""
    f = contact.fields
    name = full_name(contact)
    first, last = f.get("firstName"), f.get("lastName")
    email = f.get("email")
    return _present(
        {
            "id": contact.id,
            "locationId": contact.location_id,
            "name": name,
            "firstName": first,
            "lastName": last,
            "firstNameLowerCase": first.lower() if first else None,
            "lastNameLowerCase": last.lower() if last else None,
            "fullNameLowerCase": name.lower() if name else None,
            "email": email,
            "emailLowerCase": email.lower() if email else None,
            "phone": f.get("phone"),
            "companyName": f.get("companyName"),
            "gender": f.get("gender"),
            "timezone": f.get("timezone"),
            "dnd": f.get("dnd", False),
            "dndSettings": f.get("dndSettings"),
            "type": f.get("type", "lead"),
            "source": f.get("source"),
            "assignedTo": f.get("assignedTo"),
            "address1": f.get("address1"),
            "city": f.get("city"),
            "state": f.get("state"),
            "country": f.get("country"),
            "postalCode": f.get("postalCode"),
            "website": f.get("website"),
            "tags": list(contact.tags),
            "dateOfBirth": f.get("dateOfBirth"),
            "dateAdded": iso_ms(contact.date_added_ms),
            "dateUpdated": iso_ms(contact.date_updated_ms),
            "customFields": custom_fields_read(contact),
            "businessId": contact.business_id,
            "additionalEmails": [],
            "followers": [],
        }
    )


def created_contact_json(contact: Contact) -> dict[str, Any]:
    """POST /contacts/ (`CreateContactSchema`): the stored document, with `deleted: false`."""
    body = contact_json(contact)
    body["deleted"] = False
    dob = contact.fields.get("dateOfBirth")
    if dob:
        body["birthMonth"] = int(dob[5:7])
        body["birthDay"] = int(dob[8:10])
    return body


def list_item_json(contact: Contact) -> dict[str, Any]:
    """GET /contacts/ and /contacts/business/{id} items (`ContactsSearchSchema` + live extras)."""
    body = contact_json(contact)
    if "name" in body:
        body["contactName"] = body["name"]
    body["attributions"] = []
    return body


def search_item_json(contact: Contact, search_after: list[Any]) -> dict[str, Any]:
    """POST /contacts/search items: each one carries the cursor to continue after it."""
    body = contact_json(contact)
    body["searchAfter"] = search_after
    return body


def task_json(task: Task) -> dict[str, Any]:
    return _present(
        {
            "id": task.id,
            "title": task.title,
            "body": task.body,
            "assignedTo": task.assigned_to,
            "dueDate": task.due_date,
            "completed": task.completed,
            "contactId": task.contact_id,
        }
    )


def note_json(note: Note) -> dict[str, Any]:
    return _present(
        {
            "id": note.id,
            "body": note.body,
            "userId": note.user_id,
            "dateAdded": iso_ms(note.date_added_ms),
            "contactId": note.contact_id,
            "title": note.title,
            "color": note.color,
            "pinned": note.pinned,
        }
    )


def event_json(appointment: Appointment, location_id: str) -> dict[str, Any]:
    """GET /contacts/{id}/appointments items (`GetEventSchema`)."""
    return _present(
        {
            "id": appointment.id,
            "calendarId": appointment.calendar_id,
            "status": appointment.appointment_status,
            "title": appointment.title,
            "assignedUserId": appointment.assigned_user_id,
            "notes": appointment.notes,
            "startTime": appointment.start_time,
            "endTime": appointment.end_time,
            "address": appointment.address,
            "locationId": location_id,
            "contactId": appointment.contact_id,
            "groupId": appointment.group_id,
            "appointmentStatus": appointment.appointment_status,
            "users": list(appointment.users),
            "dateAdded": iso_ms(appointment.date_added_ms),
            "dateUpdated": iso_ms(appointment.date_updated_ms),
            "assignedResources": [],
        }
    )


# --- webhook event data (the envelope fields are added per delivery) ---


def contact_event(contact: Contact) -> dict[str, Any]:
    """Contact* webhooks: the documented field list, nothing else (no dateUpdated)."""
    f = contact.fields
    return _present(
        {
            "id": contact.id,
            "address1": f.get("address1"),
            "city": f.get("city"),
            "companyName": f.get("companyName"),
            "country": f.get("country"),
            "source": f.get("source"),
            "dateAdded": iso_ms(contact.date_added_ms),
            "dateOfBirth": f.get("dateOfBirth"),
            "dnd": f.get("dnd"),
            "email": f.get("email"),
            "name": full_name(contact),
            "firstName": f.get("firstName"),
            "lastName": f.get("lastName"),
            "phone": f.get("phone"),
            "postalCode": f.get("postalCode"),
            "state": f.get("state"),
            "tags": list(contact.tags),
            "website": f.get("website"),
            "assignedTo": f.get("assignedTo"),
            "customFields": custom_fields_read(contact),
        }
    )


def contact_dnd_event(contact: Contact) -> dict[str, Any]:
    return {**contact_event(contact), **_present({"dndSettings": contact.fields.get("dndSettings")})}


def task_event(task: Task) -> dict[str, Any]:
    return _present(
        {
            "id": task.id,
            "assignedTo": task.assigned_to,
            "body": task.body,
            "contactId": task.contact_id,
            "title": task.title,
            "dateAdded": iso_ms(task.date_added_ms),
            "dueDate": task.due_date,
        }
    )


def note_event(note: Note) -> dict[str, Any]:
    """Note* webhooks send a fixed allowlist: no userId, no title (GHL issue #312)."""
    return {
        "id": note.id,
        "body": note.body,
        "contactId": note.contact_id,
        "dateAdded": iso_ms(note.date_added_ms),
    }


def appointment_event(appointment: Appointment) -> dict[str, Any]:
    """Appointment* webhooks nest the data under `appointment`."""
    return {
        "appointment": _present(
            {
                "id": appointment.id,
                "address": appointment.address,
                "title": appointment.title,
                "calendarId": appointment.calendar_id,
                "contactId": appointment.contact_id,
                "groupId": appointment.group_id,
                "appointmentStatus": appointment.appointment_status,
                "assignedUserId": appointment.assigned_user_id,
                "users": list(appointment.users),
                "notes": appointment.notes,
                "source": appointment.source,
                "startTime": appointment.start_time,
                "endTime": appointment.end_time,
                "dateAdded": iso_ms(appointment.date_added_ms),
                "dateUpdated": iso_ms(appointment.date_updated_ms),
            }
        )
    }
