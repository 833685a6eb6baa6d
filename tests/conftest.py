"""Shared fixtures live in tests/fixtures/, one module per concern."""

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.ghl",
    "tests.fixtures.http",
    "tests.fixtures.kayako",
    "tests.fixtures.contract",
    "tests.fixtures.app_webhook",
    "tests.fixtures.workflow",
    "tests.fixtures.caller_lookup",
    "tests.fixtures.kixie_bulk",
    "tests.fixtures.ekyte_refresh",
    "tests.fixtures.operate",
    "tests.fixtures.agency",
    "tests.fixtures.backfill",
]
