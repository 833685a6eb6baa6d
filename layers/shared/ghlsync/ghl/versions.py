"""Which GHL API version the client speaks (`GHL_API_VERSION`), and how a contact body differs.

The client is built and tested on `2021-07-28`, the version the contacts spec declares. `v3`
(SPEC `apps/v3/contacts-v3.json`, the version GHL's Python SDK 3.0.0 always sends) takes the same
contact bodies with two names changed, which `contact_body` applies: DND channels are lower-camel
(`call, email, sms, whatsApp, gmb, fb` for `Call, Email, SMS, WhatsApp, GMB, FB`) and a custom
field's value is `fieldValue` (`field_value` is deprecated there). Everything the client reads
is the same in both (the delete answers' `succeeded` is read alongside `succeded`, models.py).
"""

from typing import Any, Literal

ApiVersion = Literal["2021-07-28", "v3"]
V2: ApiVersion = "2021-07-28"
V3: ApiVersion = "v3"
SUPPORTED: frozenset[str] = frozenset({V2, V3})

_V3_DND = {"Call": "call", "Email": "email", "SMS": "sms", "WhatsApp": "whatsApp", "GMB": "gmb", "FB": "fb"}


def contact_body(body: dict[str, Any], version: str) -> dict[str, Any]:
    """A 2021-07-28 contact create/update/upsert body as `version` spells it."""
    if version != V3:
        return body
    out = dict(body)
    if isinstance(body.get("dndSettings"), dict):
        out["dndSettings"] = {_V3_DND.get(key, key): value for key, value in body["dndSettings"].items()}
    if isinstance(body.get("customFields"), list):
        out["customFields"] = [_v3_custom_field(item) for item in body["customFields"]]
    return out


def _v3_custom_field(item: Any) -> Any:
    if not (isinstance(item, dict) and "field_value" in item):
        return item
    return {
        **{key: value for key, value in item.items() if key != "field_value"},
        "fieldValue": item["field_value"],
    }
