"""Read template.yaml the way SAM and CloudFormation would, for local runs and tests.

- `load_template` parses the YAML with CloudFormation's short-form tags (`!Ref X` becomes
  `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`, ...).
- `Template.function` merges the `Globals.Function` section into one function's properties with
  SAM's rules: the function's scalars win, maps merge key by key, lists are concatenated.
- `Intrinsics.resolve` evaluates Ref / Fn::Sub / Fn::GetAtt / Fn::Join against parameter values,
  pseudo parameters and the physical resources sandbox.stack.aws created, so environment variables
  hold the same kind of values (table names, queue URLs, secret ARNs) they hold in AWS.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml  # PyYAML ships no stubs (pyproject: ignore_missing_imports); it comes with aws-sam-cli

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
# samconfig.toml's default stack_name: local names match what `sam deploy` would produce.
DEFAULT_STACK_NAME = "ghl-sync"
DEFAULT_REGION = "us-east-1"
# moto's default account id; moto honours MOTO_ACCOUNT_ID, and so does sandbox.stack.aws.
DEFAULT_ACCOUNT_ID = "123456789012"

FUNCTION_TYPE = "AWS::Serverless::Function"

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(Exception):
    """The template cannot be read, or a value in it cannot be resolved locally."""


class UnknownFunction(TemplateError):
    def __init__(self, logical_id: str, known: list[str]) -> None:
        super().__init__(
            f"no function {logical_id!r} in the template; functions: {', '.join(known) or '(none)'}"
        )
        self.logical_id = logical_id
        self.known = known


# ---- YAML with CloudFormation tags ------------------------------------------------------------


# libyaml's parser where PyYAML was built with it: every World parses the template, and the pure-Python
# parser took a quarter of a World's start.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that turns `!Fn value` tags into the long form `{"Fn::Fn": value}`."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # `!GetAtt Resource.Attribute` is the short form of a two-item list.
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def parse_template(text: str) -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise TemplateError(f"template is not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError("template has no Resources section")
    return cast(dict[str, Any], document)


def load_template(path: str | Path = DEFAULT_TEMPLATE) -> "Template":
    template_path = Path(path).resolve()
    try:
        text = template_path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read template {template_path}: {error.strerror}") from error
    return Template(path=template_path, document=parse_template(text))


# ---- functions and Globals --------------------------------------------------------------------


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge (the function wins per key), lists concatenate, scalars override."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function with Globals applied (intrinsics still unresolved)."""

    logical_id: str
    properties: Mapping[str, Any]
    code_dir: Path

    @property
    def handler(self) -> str:
        return str(self.properties.get("Handler", ""))

    @property
    def runtime(self) -> str:
        return str(self.properties.get("Runtime", ""))

    @property
    def timeout(self) -> int:
        # Lambda's defaults when neither the function nor Globals sets them.
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_size(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def environment(self) -> Mapping[str, Any]:
        variables = self.properties.get("Environment", {}).get("Variables", {})
        return cast(Mapping[str, Any], variables)

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / f"{module.replace('.', '/')}.py"


@dataclass(frozen=True)
class Template:
    path: Path
    document: Mapping[str, Any]

    @property
    def root(self) -> Path:
        """Relative CodeUri / ContentUri values are relative to the template's folder."""
        return self.path.parent

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return cast(Mapping[str, Mapping[str, Any]], self.document["Resources"])

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def parameter_defaults(self) -> dict[str, str]:
        parameters = self.document.get("Parameters") or {}
        return {
            name: _stringify(spec["Default"])
            for name, spec in parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }

    @property
    def global_function_properties(self) -> Mapping[str, Any]:
        globals_section = self.document.get("Globals") or {}
        return cast(Mapping[str, Any], globals_section.get("Function") or {})

    def function_ids(self) -> list[str]:
        return list(self.resources_of_type(FUNCTION_TYPE))

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.resources.get(logical_id)
        if resource is None or resource.get("Type") != FUNCTION_TYPE:
            raise UnknownFunction(logical_id, self.function_ids())
        properties = merge_globals(dict(self.global_function_properties), resource.get("Properties") or {})
        code_uri = properties.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        return FunctionSpec(logical_id=logical_id, properties=properties, code_dir=self.root / code_uri)

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id in self.function_ids()]


# ---- intrinsic functions ----------------------------------------------------------------------


@dataclass(frozen=True)
class PhysicalResource:
    """What CloudFormation would return for a resource: `ref` for !Ref, `attributes` for !GetAtt."""

    logical_id: str
    resource_type: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def referenced_resources(value: Any, template: Template) -> set[str]:
    """Logical ids of the template's resources that `value` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    for name in _referenced_names(value):
        if name in template.resources:
            found.add(name)
    return found


def _referenced_names(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _referenced_names(item)
    elif isinstance(value, dict):
        if set(value) == {"Ref"}:
            yield str(value["Ref"])
        elif set(value) == {"Fn::GetAtt"}:
            yield _get_att_target(value["Fn::GetAtt"])[0]
        elif set(value) == {"Fn::Sub"}:
            body = value["Fn::Sub"]
            text, variables = (body, {}) if isinstance(body, str) else (body[0], body[1])
            for name in _SUB_VARIABLE.findall(text):
                if name not in variables:
                    yield name.split(".", 1)[0]
            yield from _referenced_names(variables)
        else:
            for item in value.values():
                yield from _referenced_names(item)


@dataclass(frozen=True)
class Intrinsics:
    """Evaluates CloudFormation intrinsic functions against one (local) stack."""

    parameters: Mapping[str, str]
    resources: Mapping[str, PhysicalResource]
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID

    def pseudo_parameters(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(str(argument))
            if key == "Fn::GetAtt":
                return self.get_att(*_get_att_target(argument))
            if key == "Fn::Sub":
                return self.sub(argument)
            if key == "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(_stringify(item) for item in self.resolve(items))
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the local resolver")
        return {key: self.resolve(item) for key, item in value.items()}

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo_parameters()
        if name in pseudo:
            return pseudo[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(
                f"cannot resolve !Ref {name}: not a parameter with a value nor a local resource"
            )
        return resource.ref

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"cannot resolve !GetAtt {logical_id}.{attribute}: not a local resource")
        if attribute not in resource.attributes:
            raise TemplateError(
                f"cannot resolve !GetAtt {logical_id}.{attribute}: "
                f"{resource.resource_type} has {', '.join(sorted(resource.attributes))} locally"
            )
        return resource.attributes[attribute]

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {name: _stringify(self.resolve(item)) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        # `${!Literal}` is how CloudFormation escapes a literal `${Literal}`.
        return _SUB_VARIABLE.sub(replace, str(text)).replace("${!", "${")

    def environment(self, variables: Mapping[str, Any]) -> dict[str, str]:
        """Resolve a function's Environment.Variables to the strings Lambda would set."""
        return {name: _stringify(self.resolve(value)) for name, value in variables.items()}


def _get_att_target(argument: Any) -> tuple[str, str]:
    """`Fn::GetAtt` takes ["Resource", "Attribute"] or, in long-form JSON too, "Resource.Attribute"."""
    if isinstance(argument, str):
        resource, _, attribute = argument.partition(".")
        return resource, attribute
    return str(argument[0]), str(argument[1])


def _stringify(value: Any) -> str:
    """Lambda environment values are strings; booleans are spelled the way SAM spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"expected a scalar, got {value!r}")
    return str(value)
