"""Request bodies of the Payaca fake, checked and normalised (target-apps.md §4.2-4.3): contacts,
addresses (nested or flat), custom fields, tag names. Each raises the fake's 400 `invalid`."""

from typing import Any

from sandbox.apps.payaca.errors import Json, invalid

TAG_MAX = 30


def non_empty_list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise invalid(f"{name} is required and must not be empty", name)
    return value


def checked_contact(value: Any, index: int) -> Json:
    where = f"contacts.{index}"
    if not isinstance(value, dict):
        raise invalid("a contact is an object", where)
    missing = [k for k in ("fullName", "email", "phoneNumber", "isPrimaryContact") if k not in value]
    if missing:
        raise invalid(f"{where} needs {', '.join(missing)}", *(f"{where}.{m}" for m in missing))
    if not isinstance(value["fullName"], str) or not value["fullName"].strip():
        raise invalid(f"{where}.fullName must be a non-empty string", f"{where}.fullName")
    email = value["email"]
    if email is not None and (not isinstance(email, str) or "@" not in email.strip()[1:-1]):
        raise invalid(f"{where}.email must be an e-mail address or null", f"{where}.email")
    contact = {
        "fullName": value["fullName"],
        "email": value["email"].strip() if isinstance(value["email"], str) else None,
        "phoneNumber": value["phoneNumber"],
        "description": value.get("description"),
        "isPrimaryContact": bool(value["isPrimaryContact"]),
    }
    if value.get("id"):
        contact["id"] = value["id"]
    return contact


def one_primary(held: list[Json], given: list[Json]) -> None:
    """A contact given as primary becomes the only primary one."""
    primary = next((c.get("email") for c in given if c["isPrimaryContact"] and c.get("email")), None)
    if primary is None:
        return
    for contact in held:
        contact["isPrimaryContact"] = (contact.get("email") or "").lower() == primary.lower()


def checked_address(value: Any) -> Json:
    if not isinstance(value, dict):
        raise invalid("an address is an object", "addresses")
    nested = value.get("address")
    lines = nested if isinstance(nested, dict) else value  # nested (later) or flat (earlier snapshot)
    keys = ("line1", "line2", "city", "postcode", "country")
    return {
        **{k: lines.get(k) for k in keys},
        "isBillingAddress": bool(value.get("isBillingAddress")),
        "accessContacts": list(value.get("accessContacts") or []),
    }


def custom_fields(value: Any, *, keep_null: bool = False) -> Json:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("customFields is an object of identifier -> value", "customFields")
    return {str(k): v for k, v in value.items() if keep_null or v is not None}


def tag_names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid("tagNames is a list of strings", "tagNames")
    bad = [t for t in value if not 1 <= len(t) <= TAG_MAX]
    if bad:
        raise invalid(f"each tag is 1-{TAG_MAX} characters", *bad)
    return list(dict.fromkeys(value))
