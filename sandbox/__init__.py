"""Dev-only tools, never deployed: faithful fakes of GHL and each app, the docker-free invoker,
the local API gateway, the dev stack and the demo."""
