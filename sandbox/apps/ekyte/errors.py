"""The eKyte fake's error answers, as eKyte's integration controller gives them (target-apps.md §2.1).

A refused request is a 400 or 404 `{"id": n, "text": "<Portuguese message>"}` (the C# controller's
`new { Id, Text }`, serialised camelCase); a wrong `apiKey`/`CompanyId` is a bare 401 with an
empty body; some 404s (an unknown board on POST /notes) are bare too. The messages are eKyte's
own where its controller shows them, and in its style where it does not ([PROPOSAL]).
"""

from typing import Any

Json = dict[str, Any]


class EkyteError(Exception):
    """An answer `{"id": code, "text": text}` with `status`; `text=None`: an empty body."""

    def __init__(self, status: int, code: int, text: str | None) -> None:
        super().__init__(text or f"HTTP {status}")
        self.status, self.code, self.text = status, code, text

    def body(self) -> Json | None:
        return None if self.text is None else {"id": self.code, "text": self.text}


def required(code: int, text: str) -> EkyteError:
    return EkyteError(400, code, text)


def user_not_found(email: str) -> EkyteError:
    return EkyteError(400, 10, f"Usuário {email} não foi encontrado.")


def no_company_access(email: str) -> EkyteError:
    return EkyteError(400, 15, f"Usuário {email} não possui acesso a empresa.")


def not_in_company(code: int, email: str, company_id: int) -> EkyteError:
    return EkyteError(400, code, f"O usuário {email} não pertence a empresa {company_id}")


def not_found(code: int, text: str) -> EkyteError:
    return EkyteError(404, code, text)


def bare_not_found() -> EkyteError:
    return EkyteError(404, 0, None)
