"""`ghlsync` is installed as a console script that runs the operator CLI."""

import importlib
import tomllib

from sandbox.stack.template import REPO_ROOT


def test_the_console_script_names_the_operator_clis_main() -> None:
    # GIVEN pyproject.toml's scripts
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    # WHEN the `ghlsync` entry point is resolved
    module, _, function = scripts["ghlsync"].partition(":")
    # THEN it is the operator CLI's main
    assert getattr(importlib.import_module(module), function).__module__ == "ghlsync.operator_cli"


def test_make_venv_installs_the_project_so_the_script_exists() -> None:
    # GIVEN the Makefile's venv recipe
    makefile = (REPO_ROOT / "Makefile").read_text()
    # THEN it installs this project editable, without dependencies (requirements-dev.txt has them)
    assert "pip install --quiet --disable-pip-version-check --no-deps -e ." in makefile
