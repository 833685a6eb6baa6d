"""ghl-sync shared layer: GHL client, connectors, mappers, sync engine and stores."""
