"""App registry and ConnectorSpec: specs from the app packages, loaded lazily, described fully."""

import os
import subprocess
import sys

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from ghlsync.apps.kayako import SPEC as KAYAKO
from ghlsync.apps.kayako import KayakoConnector
from ghlsync.apps.registry import UnknownApp, app_names, spec_for, validate_app_config
from ghlsync.apps.spec import ConnectorSpec, InboundRoute

_CREDENTIALS = {"email": "agent@acme.io", "password": "pw", "webhook_token": "t" * 32}


def test_every_app_name_resolves_to_its_own_spec() -> None:
    assert app_names() == ("ekyte", "generic", "kayako", "kixie", "payaca")
    assert all(spec_for(name).name == name for name in app_names())


def test_an_unknown_app_is_refused_by_name() -> None:
    with pytest.raises(UnknownApp, match=r"'nope'.*known: ekyte, generic, kayako, kixie, payaca"):
        spec_for("nope")


def test_importing_the_registry_loads_no_app_package() -> None:
    # GIVEN a fresh interpreter / WHEN the registry is imported / THEN no app package is loaded
    code = (
        "import sys, ghlsync.apps.registry;"
        "print(any(m.startswith('ghlsync.apps.kayako') for m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed snippet
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "False"


def test_kayako_asks_for_its_login_and_generates_its_webhook_token() -> None:
    assert KAYAKO.asked_credentials == ("email", "password")
    assert KAYAKO.generated_credentials == frozenset({"webhook_token"})
    assert KAYAKO.secret_credentials == frozenset({"password", "webhook_token"})


def test_kayako_capabilities_are_the_connectors_own() -> None:
    assert KAYAKO.capabilities is KayakoConnector.capabilities


def test_a_query_token_route_puts_the_secret_in_the_url() -> None:
    [route] = KAYAKO.webhooks
    url = route.url_for("https://api.example.test/prod/", "conn_1", "s3cret")
    assert url == "https://api.example.test/prod/webhooks/kayako/conn_1?token=s3cret"


def test_validate_app_config_accepts_good_settings_and_credentials() -> None:
    validate_app_config("kayako", {"subdomain": "acme"}, _CREDENTIALS)


def test_validate_app_config_refuses_settings_without_a_location() -> None:
    with pytest.raises(ValidationError, match="set subdomain"):
        validate_app_config("kayako", {}, _CREDENTIALS)


class _Credentials(BaseModel):
    api_key: SecretStr
    signing_secret: SecretStr | None = None
    account: str


def _spec(**overrides: object) -> ConnectorSpec:
    fields: dict[str, object] = {
        "name": "demo",
        "settings_model": BaseModel,
        "credentials_model": _Credentials,
        "capabilities": KayakoConnector.capabilities,
        "build": KAYAKO.build,
    }
    return ConnectorSpec(**{**fields, **overrides})  # type: ignore[arg-type]


def test_optional_secret_fields_count_as_secret() -> None:
    assert _spec().secret_credentials == frozenset({"api_key", "signing_secret"})


def test_a_spec_cannot_generate_a_field_its_credentials_lack() -> None:
    with pytest.raises(ValueError, match="generated credentials"):
        _spec(generated_credentials=frozenset({"token"}))


def test_a_route_cannot_name_a_secret_its_credentials_lack() -> None:
    route = InboundRoute(
        method="POST", path="/webhooks/demo/{connectionId}", purpose="x", secret_field="token"
    )
    with pytest.raises(ValueError, match="unknown secret"):
        _spec(webhooks=(route,))
