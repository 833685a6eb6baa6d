"""eKyte's errors (target-apps.md §2): 400/404 bodies are `{"id": n, "text": "<Portuguese message>"}`
(camelCase; `Text` accepted too; the text is kept as the message, untranslated: it is what eKyte
support will recognise), a wrong `apiKey`/`CompanyId` is a 401 with an empty body, the BI API is
said to answer `{"error": {"message"}}`, and the MCP server answers JSON-RPC errors
(`error.message`)."""

from ghlsync.core.errors import Unauthorized
from ghlsync.http.errors import DEFAULT_STATUSES, ErrorMap

EKYTE_ERRORS = ErrorMap(
    app="eKyte",
    statuses={**DEFAULT_STATUSES, 401: Unauthorized},
    message_paths=("text", "Text", "error.message", "message"),
)
