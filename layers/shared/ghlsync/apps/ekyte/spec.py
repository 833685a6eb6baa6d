"""eKyte, as the stack sees it: settings, credentials, capabilities, build. No webhooks: polled."""

from datetime import timedelta

from ghlsync.apps.ekyte.connector import SOURCE, EkyteConnector, capabilities_for
from ghlsync.apps.ekyte.settings import POLLING_WINDOW_MINUTES, EkyteCredentials, EkyteSettings
from ghlsync.apps.spec import ConnectorSpec, connector_builder

SPEC = ConnectorSpec(
    name=SOURCE,
    settings_model=EkyteSettings,
    credentials_model=EkyteCredentials,
    # Without the optional MCP token; a connection that has it also updates existing tasks.
    capabilities=capabilities_for(timedelta(minutes=POLLING_WINDOW_MINUTES), mcp=False),
    build=connector_builder(EkyteConnector, EkyteSettings),
    refresh_every=lambda settings: EkyteSettings.model_validate(settings).refresh_every_s,
    setup=(
        "eKyte sends no webhooks: the sweep polls it. Give this command the company's integration\n"
        "key and CompanyId (eKyte guide 'integracao com n8n'), the e-mail of the eKyte user the sync\n"
        "acts as, and optionally that user's MCP token (Configuracoes > Usuario) to update existing\n"
        "tasks. Set user_email, workspace_id, task_type_id and executor_email in the connection's\n"
        "settings."
    ),
)
