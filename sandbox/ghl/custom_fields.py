"""Custom-field definitions per location and what a contact write does with custom-field values.

From the spec (`apps/locations.json`, `apps/contacts.json`; ghl-api.md §2.2):
- `GET /locations/{locationId}/customFields[?model=contact|opportunity|all]` answers
  `{"customFields": [CustomFieldSchema]}` (id, name, `fieldKey` such as `contact.pincode`,
  `dataType`, picklistOptions, model, ...); `POST` creates one (CreateCustomFieldsDTO: name*,
  dataType*, ...) and answers 201 `{"customField": ...}`; `GET .../customFields/{idOrKey}` reads
  one by id or by field key. Scopes `locations/customFields.readonly` / `.write`.
- A contact write names a field by `id` or by `key` with a `field_value` whose shape follows the
  field's type: text and single options a string, numbers a number, checkbox and multiple options
  an array of strings, file upload an object. Values read back as `{id, value}` with the real id.

⚠ UNCONFIRMED, the sandbox's own rules (README "Unconfirmed"):
- a `key` may be the full fieldKey (`contact.membership_status`) or its part after `contact.`
  (the spec's example is `my_custom_field`);
- what a write naming no field of the location gets: ignored (the value is dropped, the write
  succeeds) by default, or a 422 — the GhlSandbox switch `unknown_custom_fields`
  ("ignore" | "reject"), also set by `PUT /_sandbox/custom-fields/unknown`;
- coercion: a number sent to a text field is stored as its string, a numeric string sent to a
  number field as the number, a lone string sent to a checkbox/multiple-options field as a list
  of one; an option not in the field's options, and anything else of the wrong type, is a 422
  with the sandbox's own wording; a DATE field takes the date formats dateOfBirth takes;
- the create body takes `options` (the picklist of option fields; the spec's DTO lists none),
  and the fieldKey is `<model>.` + the name in snake case (a taken key is a 400).
"""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, jsonify, request

from sandbox.ghl import bodies
from sandbox.ghl import validation as dto
from sandbox.ghl.errors import ApiError, bad_request, unprocessable
from sandbox.ghl.state import CustomFieldDefinition, IdFactory, Location

if TYPE_CHECKING:
    from sandbox.ghl.app import Caller
    from sandbox.ghl.sandbox import GhlSandbox

TEXT_TYPES = frozenset({"TEXT", "LARGE_TEXT", "PHONE", "EMAIL"})
NUMBER_TYPES = frozenset({"NUMERICAL", "MONETORY", "FLOAT"})
SINGLE_OPTION_TYPES = frozenset({"SINGLE_OPTIONS", "RADIO"})
MULTI_OPTION_TYPES = frozenset({"MULTIPLE_OPTIONS", "CHECKBOX"})
OBJECT_TYPES = frozenset({"FILE_UPLOAD", "SIGNATURE", "TEXTBOX_LIST"})
DATA_TYPES = TEXT_TYPES | NUMBER_TYPES | SINGLE_OPTION_TYPES | MULTI_OPTION_TYPES | OBJECT_TYPES | {"DATE"}
UNKNOWN_POLICIES = ("ignore", "reject")
MODELS = ("contact", "opportunity")
READ = "locations/customFields.readonly"
WRITE = "locations/customFields.write"

CREATE_FIELD = dto.Dto(
    "CreateCustomFieldsDTO",
    {
        "name": dto.Rule(dto._string, required=True),
        "dataType": dto.Rule(dto._one_of(*sorted(DATA_TYPES)), required=True),
        "placeholder": dto.Rule(dto._string),
        "acceptedFormat": dto.Rule(dto._string_list),
        "isMultipleFile": dto.Rule(dto._boolean),
        "maxNumberOfFiles": dto.Rule(dto._number),
        "textBoxListOptions": dto.Rule(dto._array),
        "position": dto.Rule(dto._number),
        "model": dto.Rule(dto._one_of(*MODELS)),
        "options": dto.Rule(dto._string_list),
    },
)


def define(
    location: Location,
    ids: IdFactory,
    name: str,
    data_type: str,
    *,
    options: list[str] | None = None,
    model: str = "contact",
    placeholder: str = "",
    position: int = 0,
) -> CustomFieldDefinition:
    """A new field of the location; its key is `<model>.<name in snake case>`."""
    if data_type not in DATA_TYPES:
        raise ValueError(f"dataType must be one of {sorted(DATA_TYPES)}")
    key = f"{model}.{re.sub(r'[^a-z0-9]+', '_', name.strip().lower()).strip('_')}"
    if any(existing.field_key == key for existing in location.custom_fields.values()):
        raise bad_request(f"A custom field with the key {key} already exists.")
    definition = CustomFieldDefinition(
        ids.firestore_id(), name, key, data_type, model, list(options or []), placeholder, position
    )
    location.custom_fields[definition.id] = definition
    return definition


def define_field(
    sb: "GhlSandbox", location_id: str, name: str, data_type: str, **details: Any
) -> CustomFieldDefinition:
    """Set-up for tests and the dev stack: a field of the location, as if made in GHL's settings."""
    with sb.lock:
        return define(sb.store.location(location_id), sb.crm.ids, name, data_type, **details)


def find(location: Location, reference: str) -> CustomFieldDefinition | None:
    """The field named by its id, its fieldKey, or its key without the `contact.` prefix."""
    if reference in location.custom_fields:
        return location.custom_fields[reference]
    for definition in location.custom_fields.values():
        if definition.field_key in (reference, f"{definition.model}.{reference}"):
            return definition
    return None


def definition_json(definition: CustomFieldDefinition, location_id: str) -> dict[str, Any]:
    return {
        "id": definition.id,
        "name": definition.name,
        "fieldKey": definition.field_key,
        "placeholder": definition.placeholder,
        "dataType": definition.data_type,
        "position": definition.position,
        "picklistOptions": list(definition.options),
        "picklistImageOptions": [],
        "isAllowedCustomOption": False,
        "isMultiFileAllowed": False,
        "maxFileLimit": 0,
        "locationId": location_id,
        "model": definition.model,
    }


def resolve_writes(location: Location, items: list[dict[str, Any]], unknown: str) -> list[dict[str, Any]]:
    """Validated `customFields` items -> `{id, field_value}` by real id, values coerced to the
    field's type; 422 with every problem found (unknown fields too when `unknown` is "reject")."""
    resolved, messages = [], []
    for index, item in enumerate(items):
        reference = item.get("id") or item.get("key")
        definition = find(location, reference) if isinstance(reference, str) else None
        if definition is None:
            if unknown == "reject":
                messages.append(f"customFields.{index}: no custom field {reference} in this location")
            continue
        value = item.get("field_value")
        if value not in (None, "", []):
            value, problem = _coerce(definition, value)
            if problem:
                messages.append(f"customFields.{index}.field_value {problem}")
                continue
        resolved.append({"id": definition.id, "field_value": value})
    if messages:
        raise unprocessable(messages)
    return resolved


def _coerce(definition: CustomFieldDefinition, value: Any) -> tuple[Any, str | None]:
    kind = definition.data_type
    if kind in TEXT_TYPES:
        if dto._is_number(value):
            return str(value), None
        return value, None if isinstance(value, str) else f"must be a string ({kind})"
    if kind in NUMBER_TYPES:
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value, f"must be a number ({kind})"
            return (int(number) if number.is_integer() else number), None
        return value, None if dto._is_number(value) else f"must be a number ({kind})"
    if kind in SINGLE_OPTION_TYPES:
        if not isinstance(value, str):
            return value, f"must be a string ({kind})"
        return value, _options_problem(definition, [value])
    if kind in MULTI_OPTION_TYPES:
        values = [value] if isinstance(value, str) else value
        if not (isinstance(values, list) and all(isinstance(item, str) for item in values)):
            return value, f"must be an array of strings ({kind})"
        return values, _options_problem(definition, values)
    if kind == "DATE":
        if isinstance(value, str) and dto.normalize_date_of_birth(value) is not None:
            return value, None
        return value, "must be a date (YYYY-MM-DD) (DATE)"
    return value, None if isinstance(value, dict) else f"must be an object ({kind})"


def _options_problem(definition: CustomFieldDefinition, values: list[str]) -> str | None:
    strangers = [value for value in values if value not in definition.options]
    if not strangers:
        return None
    return (
        f"{', '.join(strangers)} is not an option of {definition.field_key}: {', '.join(definition.options)}"
    )


def register_custom_field_routes(app: Flask, sb: "GhlSandbox", authorize: Callable[[str], "Caller"]) -> None:
    def location_for(scope: str, location_id: str) -> Location:
        authorize(scope).require_location(location_id)
        return sb.store.location(location_id)

    @app.get("/locations/<location_id>/customFields")
    def list_custom_fields(location_id: str) -> Any:
        location = location_for(READ, location_id)
        model = request.args.get("model", "all")
        if model not in (*MODELS, "all"):
            raise unprocessable(["model must be one of the following values: contact, opportunity, all"])
        fields = [d for d in location.custom_fields.values() if model in ("all", d.model)]
        return jsonify({"customFields": [definition_json(d, location_id) for d in fields]})

    @app.post("/locations/<location_id>/customFields")
    def create_custom_field(location_id: str) -> Any:
        location = location_for(WRITE, location_id)
        body = bodies.validated(bodies.parse_json(request.get_data()), CREATE_FIELD)
        definition = define(
            location,
            sb.crm.ids,
            body["name"],
            body["dataType"],
            options=body.get("options"),
            model=body.get("model", "contact"),
            placeholder=body.get("placeholder", ""),
            position=int(body.get("position", 0)),
        )
        return jsonify({"customField": definition_json(definition, location_id)}), 201

    @app.get("/locations/<location_id>/customFields/<reference>")
    def get_custom_field(location_id: str, reference: str) -> Any:
        location = location_for(READ, location_id)
        definition = find(location, reference)
        if definition is None:
            raise sb.crm.not_found("Custom field", reference)
        return jsonify({"customField": definition_json(definition, location_id)})


def admin_custom_fields_blueprint(sb: "GhlSandbox") -> Blueprint:
    """`POST /_sandbox/locations/<id>/custom-fields` defines a field without a token (seeding);
    `PUT /_sandbox/custom-fields/unknown` `{"policy": "ignore"|"reject"}` sets the switch."""
    bp = Blueprint("sandbox_custom_fields", __name__, url_prefix="/_sandbox")

    @bp.post("/locations/<location_id>/custom-fields")
    def seed_custom_field(location_id: str) -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return jsonify({"error": "send {name, dataType, options?, model?}"}), 400
        try:
            definition = define_field(
                sb,
                location_id,
                data["name"],
                str(data.get("dataType")),
                options=data.get("options"),
                model=data.get("model", "contact"),
            )
        except (KeyError, ValueError, ApiError) as error:
            return jsonify({"error": str(error)}), 400
        return jsonify({"customField": definition_json(definition, location_id)}), 201

    @bp.put("/custom-fields/unknown")
    def set_unknown_policy() -> Any:
        data = request.get_json(silent=True)
        policy = data.get("policy") if isinstance(data, dict) else None
        if policy not in UNKNOWN_POLICIES:
            return jsonify({"error": f"policy must be one of {list(UNKNOWN_POLICIES)}"}), 400
        sb.store.unknown_custom_fields = policy
        return jsonify({"policy": policy})

    return bp
