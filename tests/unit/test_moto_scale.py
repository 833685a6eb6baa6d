"""sandbox.stack.moto_scale.install: it replaces only the moto methods it was checked against."""

from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from sandbox.stack import moto_scale


@pytest.fixture
def motos_own(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """GIVEN moto's own methods in place (restored after the test, whatever it installs)."""
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_scale.MOTOS_TRANSACT_WRITE_ITEMS)
    monkeypatch.setattr(Table, "query", moto_scale.MOTOS_QUERY)
    monkeypatch.setattr(Table, "all_items", moto_scale.MOTOS_ALL_ITEMS)
    return monkeypatch


def test_install_refuses_a_moto_method_it_was_not_checked_against(motos_own: pytest.MonkeyPatch) -> None:
    # GIVEN a moto whose Table.query is not the one the replacement wraps
    def changed_upstream(self: Any, *args: Any, **kwargs: Any) -> None:
        """A newer moto's method."""

    motos_own.setattr(Table, "query", changed_upstream)
    # WHEN the sandbox installs its replacements / THEN it fails loudly and replaces nothing
    with pytest.raises(moto_scale.MotoChanged, match=r"Table\.query"):
        moto_scale.install()
    assert Table.query is changed_upstream
    assert DynamoDBBackend.transact_write_items is moto_scale.MOTOS_TRANSACT_WRITE_ITEMS


def test_install_replaces_motos_own_methods(motos_own: pytest.MonkeyPatch) -> None:
    # GIVEN moto's own methods / WHEN the sandbox installs its replacements (twice: every stack
    # start calls it)
    moto_scale.install()
    moto_scale.install()
    # THEN moto answers with the replacements
    assert DynamoDBBackend.transact_write_items is moto_scale.transact_write_items
    assert (Table.query, Table.all_items) == (moto_scale.query, moto_scale.all_items)
