"""Request bodies as GHL's NestJS app reads them: Express's strict JSON body parser, then the
ValidationPipe. Neither is documented by GHL; the rules below follow those libraries' own source
(UNCONFIRMED against the live API), which is what a NestJS service answers unless it changed them:

- empty (0 bytes): read as `{}`, then validated. body-parser `lib/types/json.js` special-cases
  an empty JSON body "as it's a common client-side mistake".
- whitespace only: 400 `Unexpected end of JSON input`. Strict mode finds no first character and
  reports what `JSON.parse("")` says.
- a JSON string, number, true, false or null: 400 `Unexpected token 'x', "x..." is not valid
  JSON`. Strict mode takes only `{` or `[` first (the wording is V8's, Node 20 and later).
- NaN or Infinity (Python's json reads them; `JSON.parse` does not): 400 like any invalid JSON.
- an array: 422 `property <index> should not exist` per element, `property constructor should
  not exist`, then the DTO's required fields. The ValidationPipe makes the DTO the array's
  `constructor` (an own property) and class-validator's whitelist walks `Object.keys`.
- an object: the DTO's validation (validation.py).
"""

import json
from typing import Any

from sandbox.ghl.errors import ApiError, unprocessable
from sandbox.ghl.validation import Dto

_ECHOED_CHARS = 32  # how much of a refused body a parse error repeats


def bad_json(message: str) -> ApiError:
    return ApiError(400, message, error="Bad Request")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token '{name[0]}', \"{name}\" is not valid JSON")


def parse_json(raw: bytes) -> dict[str, Any] | list[Any]:
    """The parsed body, an object or an array; 400 for anything body-parser refuses."""
    if not raw:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_json("Unexpected token in JSON: the body is not UTF-8") from None
    stripped = text.strip(" \t\r\n")
    if not stripped:
        raise bad_json("Unexpected end of JSON input")
    if stripped[0] not in "{[":
        quoted = f'"{stripped}"' if len(stripped) <= _ECHOED_CHARS else f'"{stripped[:_ECHOED_CHARS]}"...'
        raise bad_json(f"Unexpected token '{stripped[0]}', {quoted} is not valid JSON")
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise bad_json(f"Unexpected token in JSON: {error}") from None
    except RecursionError:
        raise bad_json("Unexpected token in JSON: nested too deeply") from None
    assert isinstance(body, dict | list)
    return body


def validated(
    body: dict[str, Any] | list[Any], schema: Dto, problems: list[str] | None = None
) -> dict[str, Any]:
    """`body` once `schema` accepts it and no `problems` were found before (the request's version,
    versions.inbound); 422 with every message otherwise (an array never passes)."""
    if isinstance(body, list):
        raise unprocessable(
            [f"property {index} should not exist" for index in range(len(body))]
            + ["property constructor should not exist"]
            + schema.messages({})
        )
    messages = [*(problems or []), *schema.messages(body)]
    if messages:
        raise unprocessable(messages)
    return body
