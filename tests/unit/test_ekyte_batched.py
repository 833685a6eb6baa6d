"""eKyte's batched lookups (`EkyteConnector.batched()`, used by the scheduled refresh): one persons
index and one look per business for many contacts, dropped after a create that may have been
applied. No sockets: a scripted transport."""

import httpx
import pytest

from ghlsync.core.errors import ConnectorError
from ghlsync.mapping.canonical import CanonicalContact
from tests.fixtures.ekyte import answer, ekyte_connector
from tests.fixtures.http import Script

ACME = {"Id": 12, "Name": "Acme", "IsCustomer": True, "Contacts": []}


def _of_acme(name: str) -> CanonicalContact:
    return CanonicalContact(first_name=name, email=f"{name.lower()}@acme.example", company_name="Acme")


def test_contacts_of_one_business_share_one_index_read_and_one_business_look() -> None:
    # GIVEN eKyte with Acme's Person, and a batch
    script = Script([answer([]), answer([ACME]), answer({"Id": 6}), answer({"Id": 7})])
    connector = ekyte_connector(script)

    # WHEN two Acme contacts are looked for and created, as the engine does for each
    with connector.batched():
        for name in ("Ada", "Bob"):
            contact = _of_acme(name)
            assert connector.find_contacts(email=contact.email, phone=None) == []
            connector.create_contact(contact)

    # THEN the index and the business were read once; each contact cost its create only
    assert [(r.url.path, r.url.params.get("Name")) for r in script.requests] == [
        ("/n8n/polling/persons", None),
        ("/n8n/polling/persons", "Acme"),
        ("/n8n/persons/contacts", None),
        ("/n8n/persons/contacts", None),
    ]


def test_a_contact_created_in_the_batch_is_found_by_the_next_look() -> None:
    # GIVEN a batch in which Ada was created under Acme
    script = Script([answer([]), answer([ACME]), answer({"Id": 6})])
    connector = ekyte_connector(script)
    with connector.batched():
        connector.find_contacts(email="ada@acme.example", phone=None)
        connector.create_contact(_of_acme("Ada"))

        # WHEN she is looked for again (a repeated event)
        found = connector.find_contacts(email="ada@acme.example", phone=None)

    # THEN the index knows her without another call
    assert [c.id for c in found] == ["p12.c6"] and len(script.requests) == 3


def test_a_create_that_may_have_been_applied_makes_the_next_look_read_ekyte_again() -> None:
    # GIVEN a batch whose person create timed out after it was sent
    script = Script([answer([]), httpx.ReadTimeout("slow"), answer([])])
    connector = ekyte_connector(script)
    lone = CanonicalContact(first_name="Cy", email="cy@example.test")
    with connector.batched():
        connector.find_contacts(email=lone.email, phone=None)
        with pytest.raises(ConnectorError):
            connector.create_contact(lone)

        # WHEN the retry looks before creating again
        connector.find_contacts(email=lone.email, phone=None)

    # THEN it read the persons again instead of trusting the index
    assert [r.url.path for r in script.requests] == [
        "/n8n/polling/persons",
        "/n8n/persons",
        "/n8n/polling/persons",
    ]
