"""eKyte (marketing projects). So far only its error map; the connector comes with its own issue."""
