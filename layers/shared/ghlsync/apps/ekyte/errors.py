"""eKyte's errors (target-apps.md §2): 400/404 bodies are `{"id": n, "text": "<Portuguese message>"}`
(the text is kept as the message, untranslated: it is what eKyte support will recognise), and a
wrong `apiKey`/`CompanyId` is a 401 with an empty body."""

from ghlsync.core.errors import Unauthorized
from ghlsync.http.errors import DEFAULT_STATUSES, ErrorMap

EKYTE_ERRORS = ErrorMap(
    app="eKyte",
    statuses={**DEFAULT_STATUSES, 401: Unauthorized},
    message_paths=("text", "error.message", "message"),
)
