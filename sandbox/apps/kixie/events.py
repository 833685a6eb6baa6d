"""`POST /app/event`: the operations chosen by `eventname` (target-apps.md §3.2), as a table.

    updatepowerlist       upsert a PowerList contact (duplicateHandling overwrite | merge | ignore)
    removefrompowerlist   action removefrompowerlist (one list) | removefromallpowerlists
    call                  click-to-call: recorded in `account.outgoing`, never dialled
    sms                   an agent's SMS: recorded, never sent
    bizsms                a Team SMS: recorded, never sent

Any other `eventname` is "function does not exist". Each handler checks everything before it
writes, so a refused request changes nothing. Success answers beyond `success: true` are the
fake's (Kixie documents none).
"""

from collections.abc import Callable, Mapping

from sandbox.apps.kixie.account import Account, Outgoing
from sandbox.apps.kixie.answers import UNKNOWN_FUNCTION, Json, KixieError, missing
from sandbox.apps.kixie.powerlists import target_of
from sandbox.fakes.clock import Clock

SMS_MAX_CHARS = 1_600  # ten SMS segments; Kixie's own limit is undocumented

Handler = Callable[[Account, Json, Clock], Json]


def _update_powerlist(account: Account, body: Json, clock: Clock) -> Json:
    contact, outcome = account.powerlists.upsert(body)
    return {"message": f"contact {outcome}", "data": contact.json()}


def _remove_from_powerlist(account: Account, body: Json, clock: Clock) -> Json:
    removed = account.powerlists.remove(body)
    return {"message": f"removed from {len(removed)} PowerList(s)", "removed": len(removed)}


def _agent_email(account: Account, body: Json) -> str:
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        raise missing("email")
    if email.strip().lower() not in account.agents:
        raise KixieError(f"no Kixie user with email {email.strip()[:200]}")
    return email.strip()


def _message(body: Json) -> str:
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise missing("message")
    if len(message) > SMS_MAX_CHARS:
        raise KixieError(f"message is longer than {SMS_MAX_CHARS} characters")
    return message


def _call(account: Account, body: Json, clock: Clock) -> Json:
    email, target = _agent_email(account, body), target_of(body)
    account.outgoing.append(Outgoing("call", email, target, None, clock()))
    return {"message": "call initiated"}


def _sms(account: Account, body: Json, clock: Clock) -> Json:
    email, target, message = _agent_email(account, body), target_of(body), _message(body)
    account.outgoing.append(Outgoing("sms", email, target, message, clock()))
    return {"message": "sms sent"}


def _team_sms(account: Account, body: Json, clock: Clock) -> Json:
    team = body.get("id")
    if team in (None, "") or str(team) not in account.team_sms_ids:
        raise KixieError("id must be a Team SMS id of the account")
    target, message = target_of(body), _message(body)
    account.outgoing.append(Outgoing("bizsms", None, target, message, clock()))
    return {"message": "sms sent"}


EVENT_HANDLERS: Mapping[str, Handler] = {
    "updatepowerlist": _update_powerlist,
    "removefrompowerlist": _remove_from_powerlist,
    "call": _call,
    "sms": _sms,
    "bizsms": _team_sms,
}


def handle_event(account: Account, body: Json, clock: Clock) -> Json:
    eventname = body.get("eventname")
    handler = EVENT_HANDLERS.get(eventname) if isinstance(eventname, str) else None
    if handler is None:
        raise KixieError(UNKNOWN_FUNCTION)
    return handler(account, body, clock)
