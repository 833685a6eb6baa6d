"""Connectors to the spoke apps (Kayako, ...) behind the Connector protocol."""
