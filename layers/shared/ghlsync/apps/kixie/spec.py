"""Kixie, as the stack sees it: settings, credentials, capabilities, build, webhooks and lookup."""

from ghlsync.apps.kixie.connector import (
    LOOKUP_ROUTE,
    SOURCE,
    WEBHOOK_ROUTE,
    KixieConnector,
    capabilities_for,
    register_webhooks,
)
from ghlsync.apps.kixie.settings import KixieCredentials, KixieSettings
from ghlsync.apps.spec import ConnectorSpec, connector_builder

SPEC = ConnectorSpec(
    name=SOURCE,
    settings_model=KixieSettings,
    credentials_model=KixieCredentials,
    # With the default settings; a connection's own follow `create_contact_on_unknown_number`.
    capabilities=capabilities_for(KixieSettings()),
    build=connector_builder(KixieConnector, KixieSettings),
    webhooks=(WEBHOOK_ROUTE,),
    lookups=(LOOKUP_ROUTE,),
    generated_credentials=frozenset({"webhook_token"}),
    setup=(
        "Kixie Dashboard > Manage > Account Settings > Integrations shows the API key and Business ID\n"
        "(Kixie Support may have to enable the key; the API needs the Professional tier). With\n"
        "--api-url, this command registers one webhook per event (endcall, disposition,\n"
        "scheduledactivity, SMS, cisummary) itself; running it again updates them by name. In\n"
        "Kixie's custom-CRM integration, set the contact lookup URL to the lookup_url above."
    ),
    after_create=register_webhooks,
)
