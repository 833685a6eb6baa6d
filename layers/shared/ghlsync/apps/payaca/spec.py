"""Payaca, as the stack sees it: settings, credentials, capabilities, build, signed webhooks."""

from ghlsync.apps.payaca.connector import SOURCE, PayacaConnector, capabilities_for
from ghlsync.apps.payaca.settings import PayacaCredentials, PayacaSettings
from ghlsync.apps.spec import ConnectorSpec, InboundRoute, connector_builder

SPEC = ConnectorSpec(
    name=SOURCE,
    settings_model=PayacaSettings,
    credentials_model=PayacaCredentials,
    # With the default settings; a connection's own follow its proposal settings (capabilities_for).
    capabilities=capabilities_for(PayacaSettings()),
    build=connector_builder(PayacaConnector, PayacaSettings),
    webhooks=(
        InboundRoute(
            method="POST",
            path="/webhooks/payaca/{connectionId}",
            purpose="signed webhooks: customer and project events (x-payaca-signature, x-payaca-event)",
        ),
    ),
    setup=(
        "In Payaca, My Company > Integrations > Create API key gives the client id and secret (the\n"
        "secret is shown once). Create a webhook in the Payaca web app with the URL above for the\n"
        "customer and project events (project.created, project.pipelineStageChanged), and give this\n"
        "command the webhook secret Payaca shows for it."
    ),
)
