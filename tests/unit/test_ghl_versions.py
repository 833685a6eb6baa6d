"""ghlsync.ghl.versions: a contact body as each supported GHL version spells it."""

from ghlsync.ghl.versions import contact_body

BODY = {
    "email": "a@example.com",
    "dndSettings": {"Call": {"status": "active"}, "WhatsApp": {"status": "inactive"}},
    "customFields": [{"id": "f1", "field_value": "gold"}, {"key": "contact.tier", "field_value": ["a"]}],
}


def test_2021_07_28_bodies_are_sent_as_built():
    # GIVEN a body built in 2021-07-28 terms / WHEN spelt for 2021-07-28 / THEN unchanged
    assert contact_body(BODY, "2021-07-28") == BODY


def test_v3_bodies_use_lower_camel_dnd_channels_and_field_value():
    # GIVEN the same body / WHEN spelt for v3
    body = contact_body(BODY, "v3")
    # THEN the DND channels and the custom-field values carry v3's names, the rest is untouched
    assert body["dndSettings"] == {"call": {"status": "active"}, "whatsApp": {"status": "inactive"}}
    assert body["customFields"] == [
        {"id": "f1", "fieldValue": "gold"},
        {"key": "contact.tier", "fieldValue": ["a"]},
    ]
    assert body["email"] == "a@example.com" and BODY["dndSettings"]["Call"] == {"status": "active"}
