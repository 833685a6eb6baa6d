"""The GHL sandbox's agency installs: Company tokens, POST /oauth/locationToken,
GET /oauth/installedLocations, INSTALL for future locations, and the removed /oauth/reconnect.
Success bodies are validated against GHL's OpenAPI file (apps/oauth.json)."""

import httpx
import pytest

from sandbox.ghl import GhlSandbox
from tests.fixtures.agency import (
    AGENCY_APP_ID,
    AGENCY_APPROVED,
    AGENCY_CLIENT_ID,
    AGENCY_CLIENT_SECRET,
    AGENCY_COMPANY,
    AGENCY_LOCATIONS,
    token_endpoint_form,
)
from tests.fixtures.ghl import GHL_BASE_URL, GHL_VERSION
from tests.integration.test_ghl_sandbox_spec import SPEC_DIR, response_validator, spec_registry

pytestmark = pytest.mark.integration
__all__ = ["spec_registry"]  # the spec test's fixture, used here too

needs_spec = pytest.mark.skipif(
    not (SPEC_DIR / "apps" / "oauth.json").is_file(), reason="no GHL OpenAPI files"
)


@pytest.fixture
def http(agency_sandbox: GhlSandbox):
    with httpx.Client(base_url=GHL_BASE_URL, transport=agency_sandbox.transport()) as client:
        yield client


@pytest.fixture
def agency_tokens(http, agency_code) -> dict:
    answer = http.post("/oauth/token", data=token_endpoint_form(agency_code))
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": GHL_VERSION}


def mint(http, token: str, location_id: str, company_id: str = AGENCY_COMPANY) -> httpx.Response:
    return http.post(
        "/oauth/locationToken",
        data={"companyId": company_id, "locationId": location_id},
        headers=bearer(token),
    )


def installed(http, token: str, **params: str) -> httpx.Response:
    query = {"companyId": AGENCY_COMPANY, "appId": AGENCY_APP_ID, **params}
    return http.get("/oauth/installedLocations", params=query, headers=bearer(token))


@needs_spec
def test_a_company_code_gives_an_agency_token_with_the_bulk_install_fields(agency_tokens, spec_registry):
    # GIVEN the agency's code / WHEN exchanged (fixture) / THEN the answer is a Company token
    assert agency_tokens["userType"] == "Company" and agency_tokens["companyId"] == AGENCY_COMPANY
    assert "locationId" not in agency_tokens
    assert {"oauth.write", "oauth.readonly"} <= set(agency_tokens["scope"].split())
    assert agency_tokens["isBulkInstallation"] is True
    assert agency_tokens["approvedLocations"] == list(AGENCY_APPROVED)
    assert (agency_tokens["installToFutureLocations"], agency_tokens["approveAllLocations"]) == (True, False)
    # AND it validates against the token endpoint's schema
    response_validator(spec_registry, "apps/oauth.json", "/oauth/token", "post", 200).validate(agency_tokens)


def test_an_agency_refresh_token_is_single_use_and_rotates(http, agency_tokens):
    # GIVEN the agency's refresh token
    form = {
        "client_id": AGENCY_CLIENT_ID,
        "client_secret": AGENCY_CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": agency_tokens["refresh_token"],
        "user_type": "Company",
    }
    # WHEN it is used twice
    first, second = http.post("/oauth/token", data=form), http.post("/oauth/token", data=form)
    # THEN the first gives a new Company token pair and the second is refused
    assert first.status_code == 200 and first.json()["userType"] == "Company"
    assert first.json()["refresh_token"] != agency_tokens["refresh_token"]
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")


@needs_spec
def test_an_agency_token_mints_a_location_token_that_reads_the_location(http, agency_tokens, spec_registry):
    # GIVEN an approved location / WHEN the agency asks for its token
    answer = mint(http, agency_tokens["access_token"], AGENCY_APPROVED[0])
    # THEN it is a Location token of that location, valid on the contacts API, without oauth.* scopes
    assert answer.status_code == 200, answer.text
    body = answer.json()
    response_validator(spec_registry, "apps/oauth.json", "/oauth/locationToken", "post", 200).validate(body)
    assert (body["locationId"], body["userType"], body["appId"]) == (
        AGENCY_APPROVED[0],
        "Location",
        AGENCY_APP_ID,
    )
    assert not {"oauth.write", "oauth.readonly"} & set(body["scope"].split())
    contacts = http.get(
        "/contacts/", params={"locationId": AGENCY_APPROVED[0]}, headers=bearer(body["access_token"])
    )
    assert contacts.status_code == 200


def test_a_location_the_agency_did_not_approve_gets_no_token(http, agency_tokens):
    # GIVEN the third location, not approved / WHEN its token is asked for / THEN 400
    answer = mint(http, agency_tokens["access_token"], AGENCY_LOCATIONS[2])
    assert answer.status_code == 400 and "not installed" in answer.json()["message"]


def test_a_location_token_cannot_mint_location_tokens(http, agency_tokens):
    # GIVEN a minted location token / WHEN it is used as an agency token / THEN 401 (auth class)
    location_token = mint(http, agency_tokens["access_token"], AGENCY_APPROVED[0]).json()["access_token"]
    answer = mint(http, location_token, AGENCY_APPROVED[1])
    assert answer.status_code == 401


def test_an_agency_token_without_oauth_write_cannot_mint(agency_sandbox, http):
    # GIVEN an app that did not ask for oauth.write, installed by the agency
    client_id = "65f0c0ffee0000000000b0b0-nooauthw"
    agency_sandbox.add_oauth_client(client_id, "secret", scopes=["contacts.readonly", "oauth.readonly"])
    code = agency_sandbox.authorize_company(client_id, AGENCY_COMPANY, AGENCY_APPROVED)
    form = {**token_endpoint_form(code), "client_id": client_id, "client_secret": "secret"}
    token = http.post("/oauth/token", data=form).json()["access_token"]
    # WHEN it asks for a location token / THEN GHL's scope refusal
    answer = mint(http, token, AGENCY_APPROVED[0])
    assert (answer.status_code, answer.json()["message"]) == (
        401,
        "The token is not authorized for this scope.",
    )


def test_minting_needs_both_form_fields(http, agency_tokens):
    # GIVEN / WHEN the form lacks locationId / THEN a NestJS 422 naming it
    answer = http.post(
        "/oauth/locationToken",
        data={"companyId": AGENCY_COMPANY},
        headers=bearer(agency_tokens["access_token"]),
    )
    assert answer.status_code == 422 and answer.json()["message"] == ["locationId should not be empty"]


def test_another_companys_location_token_is_refused(http, agency_tokens):
    # GIVEN / WHEN the agency names another company / THEN 403
    assert (
        mint(
            http, agency_tokens["access_token"], AGENCY_APPROVED[0], company_id="otherCompany00000001"
        ).status_code
        == 403
    )


@needs_spec
def test_installed_locations_lists_the_company_with_filters_and_paging(http, agency_tokens, spec_registry):
    token = agency_tokens["access_token"]
    # GIVEN the agency installed two of its three locations
    # WHEN it lists every location, the installed ones, and the installed ones one per page
    everything = installed(http, token).json()
    only_installed = installed(http, token, isInstalled="true").json()
    second_page = installed(http, token, isInstalled="true", skip="1", limit="1").json()
    # THEN the counts and pages follow the filters, and the bodies follow the spec
    response_validator(spec_registry, "apps/oauth.json", "/oauth/installedLocations", "get", 200).validate(
        everything
    )
    assert everything["count"] == 3 and everything["installToFutureLocations"] is True
    assert [row["_id"] for row in only_installed["locations"]] == list(AGENCY_APPROVED)
    assert (second_page["count"], [row["_id"] for row in second_page["locations"]]) == (
        2,
        [AGENCY_APPROVED[1]],
    )


def test_installed_locations_needs_company_and_app_ids(http, agency_tokens):
    # GIVEN / WHEN appId is missing / THEN 422
    answer = http.get(
        "/oauth/installedLocations",
        params={"companyId": AGENCY_COMPANY},
        headers=bearer(agency_tokens["access_token"]),
    )
    assert answer.status_code == 422 and answer.json()["message"] == ["appId should not be empty"]


def test_a_location_created_later_is_installed_and_announced(agency_sandbox, http, agency_tokens):
    # GIVEN installToFutureLocations / WHEN the agency creates a new location
    agency_sandbox.add_location("agencyLocation000009", company_id=AGENCY_COMPANY)
    # THEN a Location INSTALL for it is queued, and it is listed as installed and mintable
    installs = [d.payload for d in agency_sandbox.deliveries if d.event_type == "INSTALL"]
    assert (
        installs[-1]["locationId"] == "agencyLocation000009" and installs[-1]["companyId"] == AGENCY_COMPANY
    )
    assert installs[-1]["installType"] == "Location"
    listed = installed(http, agency_tokens["access_token"], locationId="agencyLocation000009").json()
    assert listed["locations"][0]["isInstalled"] is True
    assert mint(http, agency_tokens["access_token"], "agencyLocation000009").status_code == 200


def test_the_company_install_itself_is_one_install_without_a_location(agency_sandbox, agency_code):
    # GIVEN / WHEN the agency consented (fixture) / THEN one INSTALL names the company, not a location
    (install,) = [d.payload for d in agency_sandbox.deliveries if d.event_type == "INSTALL"]
    assert install["installType"] == "Company" and install["companyId"] == AGENCY_COMPANY
    assert "locationId" not in install


def test_a_company_uninstall_revokes_every_token_and_sends_one_uninstall(agency_sandbox, http, agency_tokens):
    # GIVEN a minted location token
    location_token = mint(http, agency_tokens["access_token"], AGENCY_APPROVED[0]).json()["access_token"]
    # WHEN the agency removes the app
    agency_sandbox.uninstall_company(AGENCY_CLIENT_ID, AGENCY_COMPANY)
    # THEN neither the agency token nor the location token works, and UNINSTALL names the company
    assert installed(http, agency_tokens["access_token"]).status_code == 401
    contacts = http.get(
        "/contacts/", params={"locationId": AGENCY_APPROVED[0]}, headers=bearer(location_token)
    )
    assert contacts.status_code == 401
    uninstall = [d.payload for d in agency_sandbox.deliveries if d.event_type == "UNINSTALL"]
    assert [(u.get("companyId"), u.get("locationId")) for u in uninstall] == [(AGENCY_COMPANY, None)]


def test_reconnect_answers_that_it_was_removed(http):
    # GIVEN / WHEN the old recovery endpoint is called / THEN GHL's current 400, verbatim
    answer = http.post("/oauth/reconnect", data={"clientKey": AGENCY_CLIENT_ID, "clientSecret": "x"})
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "API endpoint has been removed",
        "error": "Bad Request",
        "statusCode": 400,
    }


# ---------------------------------------------------------------- the v3 names (agency_v3.py)


def v3_bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": "v3"}


@needs_spec
def test_v3_location_token_is_camel_case_and_reads_the_location(http, agency_tokens, spec_registry):
    # GIVEN an approved location / WHEN the agency asks for its token the v3 way (the Python SDK's)
    answer = http.post(
        "/oauth/location-token",
        data={"companyId": AGENCY_COMPANY, "locationId": AGENCY_APPROVED[0]},
        headers=v3_bearer(agency_tokens["access_token"]),
    )
    # THEN the answer follows the v3 schema, in camelCase, and its token reads the location
    assert answer.status_code == 200, answer.text
    body = answer.json()
    response_validator(spec_registry, "apps/v3/oauth-v3.json", "/oauth/location-token", "post", 200).validate(
        body
    )
    assert {"accessToken", "tokenType", "expiresIn", "refreshToken"} <= set(
        body
    ) and "access_token" not in body
    contacts = http.get(
        "/contacts/", params={"locationId": AGENCY_APPROVED[0]}, headers=v3_bearer(body["accessToken"])
    )
    assert contacts.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/oauth/location-token"), ("GET", "/oauth/installed-locations")]
)
def test_the_v3_paths_are_no_route_under_2021_07_28(http, agency_tokens, method, path):
    # GIVEN / WHEN a v3 path is called with Version: 2021-07-28
    answer = http.request(method, path, headers=bearer(agency_tokens["access_token"]))
    # THEN NestJS has no such route (live probe: "Cannot GET")
    assert answer.status_code == 404 and answer.json()["message"] == f"Cannot {method} {path}"


@needs_spec
def test_v3_installed_locations_pages_by_token(http, agency_tokens, spec_registry):
    # GIVEN the company's three locations / WHEN they are listed two per page, following the tokens
    params = {"companyId": AGENCY_COMPANY, "appId": AGENCY_APP_ID, "pageSize": "2"}
    headers = v3_bearer(agency_tokens["access_token"])
    first = http.get("/oauth/installed-locations", params=params, headers=headers).json()
    token = first["pagination"]["nextPageToken"]
    second = http.get(
        "/oauth/installed-locations", params={**params, "pageToken": token}, headers=headers
    ).json()
    # THEN each page follows the v3 schema and together they hold each location once
    validator = response_validator(
        spec_registry, "apps/v3/oauth-v3.json", "/oauth/installed-locations", "get", 200
    )
    for page in (first, second):
        validator.validate(page)
    assert [row["_id"] for row in first["items"] + second["items"]] == list(AGENCY_LOCATIONS)
    assert (first["pagination"]["hasNextPage"], second["pagination"]["hasNextPage"]) == (True, False)
    assert second["pagination"]["hasPrevPage"] is True and first["installToFutureLocations"] is True


def test_v3_installed_locations_refuses_a_forged_page_token_in_the_aip_shape(http, agency_tokens):
    # GIVEN / WHEN a page token the sandbox never issued is sent
    answer = http.get(
        "/oauth/installed-locations",
        params={"companyId": AGENCY_COMPANY, "appId": AGENCY_APP_ID, "pageToken": "not-a-token"},
        headers=v3_bearer(agency_tokens["access_token"]),
    )
    # THEN 400 with v3's AipErrorResponseDto body
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_ARGUMENT"
