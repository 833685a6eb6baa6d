"""Kayako, as the stack sees it: settings, credentials, capabilities, build, automation endpoint."""

from ghlsync.apps.kayako.connector import SOURCE, TOKEN_HEADER, TOKEN_QUERY, KayakoConnector
from ghlsync.apps.kayako.settings import KayakoCredentials, KayakoSettings
from ghlsync.apps.spec import ConnectorSpec, InboundRoute, connector_builder

SPEC = ConnectorSpec(
    name=SOURCE,
    settings_model=KayakoSettings,
    credentials_model=KayakoCredentials,
    capabilities=KayakoConnector.capabilities,
    build=connector_builder(KayakoConnector, KayakoSettings),
    webhooks=(
        InboundRoute(
            method="POST",
            path="/webhooks/kayako/{connectionId}",
            purpose="automation endpoint: user, case, note and tag changes",
            secret_field="webhook_token",
            query_param=TOKEN_QUERY,
            header=TOKEN_HEADER,
        ),
    ),
    generated_credentials=frozenset({"webhook_token"}),
    setup=(
        "Use a dedicated agent login without two-factor authentication (the e-mail and password\n"
        "given to this command). In Kayako admin > Automation > Endpoints, add an HTTP endpoint\n"
        "(POST, JSON body) with the webhook URL above, and point triggers and monitors for user,\n"
        "case and note changes at it. Changes the endpoint misses are caught by the sweep."
    ),
)
