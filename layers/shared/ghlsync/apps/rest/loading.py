"""Reading a spec file (YAML or JSON) and reporting every problem of it as `path: message`.

YAML is read with PyYAML, imported only here and only for a `.yaml`/`.yml` file: the operator's
CLI reads spec files, the Lambdas only ever see the validated spec as JSON in the connection row.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ghlsync.apps.rest.model import AppSpec

_VALUE_ERROR = "Value error, "


class SpecInvalid(ValueError):
    """A spec with problems; `problems` lists each as `path: message`, all of them at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid spec:\n  " + "\n  ".join(problems))
        self.problems = problems


def problems_of(error: ValidationError) -> list[str]:
    """`path: message` per problem; a cross-check failure (one error at the root) is split back
    into its lines, which carry their own paths. Values are never shown."""
    lines: list[str] = []
    for problem in error.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(step) for step in problem["loc"])
        message = problem["msg"].removeprefix(_VALUE_ERROR)
        if not where:
            lines.extend(message.splitlines())
        else:
            lines.append(f"{where}: {message}")
    return lines


def load_spec(data: Mapping[str, Any]) -> AppSpec:
    """The validated spec, or SpecInvalid with every problem."""
    try:
        return AppSpec.model_validate(dict(data))
    except ValidationError as error:
        raise SpecInvalid(problems_of(error)) from None


def read_spec_file(path: Path) -> dict[str, Any]:
    """The file's object (YAML for .yaml/.yml, else JSON), or SpecInvalid saying why not."""
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecInvalid([f"{path}: cannot read: {error.strerror}"]) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # only the operator's CLI reads YAML

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SpecInvalid([f"{path}: not YAML: {error}"]) from None
    else:
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SpecInvalid([f"{path}: not JSON: {error}"]) from None
    if not isinstance(data, dict):
        raise SpecInvalid([f"{path}: the spec must be a mapping at its top level"])
    return data


def load_spec_file(path: Path) -> AppSpec:
    return load_spec(read_spec_file(path))
