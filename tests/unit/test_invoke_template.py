"""sandbox.stack.template: CloudFormation tags, SAM Globals and intrinsics, as the invoker reads them."""

from pathlib import Path
from textwrap import dedent

import pytest

from sandbox.stack.template import (
    Intrinsics,
    PhysicalResource,
    Template,
    TemplateError,
    UnknownFunction,
    load_template,
    merge_globals,
    parse_template,
    referenced_resources,
)

QUEUE = PhysicalResource(
    "Queue",
    "AWS::SQS::Queue",
    ref="https://sqs.local/1/q",
    attributes={"Arn": "arn:aws:sqs:us-east-1:1:q", "QueueName": "q"},
)
INTRINSICS = Intrinsics(parameters={"Stage": "dev"}, resources={"Queue": QUEUE}, stack_name="stack")


def template_from(text: str, tmp_path: Path) -> Template:
    return Template(path=tmp_path / "template.yaml", document=parse_template(dedent(text)))


def test_short_form_tags_become_intrinsic_functions() -> None:
    # GIVEN !Ref, dotted !GetAtt, !Sub and a nested !Join WHEN parsed THEN each has its long form
    document = parse_template(
        dedent(
            """
            Resources:
              R:
                Properties:
                  A: !Ref Stage
                  B: !GetAtt Queue.Arn
                  C: !Sub "${Stage}-x"
                  D: !Join [",", [!Ref Stage, b]]
            """
        )
    )
    assert document["Resources"]["R"]["Properties"] == {
        "A": {"Ref": "Stage"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "${Stage}-x"},
        "D": {"Fn::Join": [",", [{"Ref": "Stage"}, "b"]]},
    }


def test_text_that_is_not_yaml_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="not valid YAML"):
        parse_template("Resources: [unclosed")


def test_template_without_resources_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="no Resources"):
        parse_template("Parameters: {}")


def test_missing_template_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read template"):
        load_template(tmp_path / "absent.yaml")


def test_globals_scalars_are_overridden_by_the_function() -> None:
    assert merge_globals({"Timeout": 30, "MemorySize": 512}, {"Timeout": 300}) == {
        "Timeout": 300,
        "MemorySize": 512,
    }


def test_globals_maps_merge_key_by_key() -> None:
    merged = merge_globals(
        {"Environment": {"Variables": {"A": "global", "B": "global"}}},
        {"Environment": {"Variables": {"B": "function", "C": "function"}}},
    )
    assert merged == {"Environment": {"Variables": {"A": "global", "B": "function", "C": "function"}}}


def test_globals_lists_are_concatenated() -> None:
    assert merge_globals({"Layers": ["shared"]}, {"Layers": ["extra"]}) == {"Layers": ["shared", "extra"]}


def test_function_gets_globals_and_lambda_defaults(tmp_path: Path) -> None:
    # GIVEN Globals with a Handler and a function without Timeout/MemorySize
    template = template_from(
        """
        Globals:
          Function:
            Handler: app.lambda_handler
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/fn
        """,
        tmp_path,
    )
    # WHEN the function is read THEN Globals apply and Lambda's defaults fill the rest
    function = template.function("Fn")
    assert (function.handler, function.timeout, function.memory_size) == ("app.lambda_handler", 3, 128)
    assert function.handler_file == tmp_path / "functions" / "fn" / "app.py"


def test_unknown_function_names_the_known_ones(tmp_path: Path) -> None:
    template = template_from(
        """
        Resources:
          Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn}}
          Table: {Type: AWS::DynamoDB::Table}
        """,
        tmp_path,
    )
    with pytest.raises(UnknownFunction, match="functions: Fn"):
        template.function("Table")


def test_function_with_a_non_local_code_uri_is_a_template_error(tmp_path: Path) -> None:
    template = template_from(
        """
        Resources:
          Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: {Bucket: b, Key: k}}}
        """,
        tmp_path,
    )
    with pytest.raises(TemplateError, match="CodeUri must be a local folder"):
        template.function("Fn")


def test_parameter_defaults_are_strings(tmp_path: Path) -> None:
    template = template_from(
        """
        Parameters:
          Count: {Type: Number, Default: 5}
          Name: {Type: String}
        Resources: {}
        """,
        tmp_path,
    )
    assert template.parameter_defaults() == {"Count": "5"}


def test_ref_resolves_parameters_pseudo_parameters_and_resources() -> None:
    assert INTRINSICS.resolve([{"Ref": "Stage"}, {"Ref": "AWS::StackName"}, {"Ref": "Queue"}]) == [
        "dev",
        "stack",
        "https://sqs.local/1/q",
    ]


def test_get_att_resolves_a_resource_attribute() -> None:
    assert INTRINSICS.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:1:q"


def test_get_att_accepts_the_dotted_string_form() -> None:
    # GIVEN `Fn::GetAtt: "Queue.Arn"` (valid in long-form templates) THEN it resolves like the list form
    assert INTRINSICS.resolve({"Fn::GetAtt": "Queue.Arn"}) == "arn:aws:sqs:us-east-1:1:q"


def test_sub_resolves_refs_attributes_and_its_own_variables() -> None:
    value = {"Fn::Sub": ["${AWS::Region}/${Queue.QueueName}/${Stage}/${Extra}", {"Extra": {"Ref": "Stage"}}]}
    assert INTRINSICS.resolve(value) == "us-east-1/q/dev/dev"


def test_sub_keeps_escaped_literals() -> None:
    assert INTRINSICS.resolve({"Fn::Sub": "${!NotAVariable}-${Stage}"}) == "${NotAVariable}-dev"


def test_join_concatenates_resolved_items() -> None:
    assert INTRINSICS.resolve({"Fn::Join": ["/", [{"Ref": "Stage"}, "x", 1]]}) == "dev/x/1"


def test_ref_to_something_not_created_locally_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="cannot resolve !Ref Api"):
        INTRINSICS.resolve({"Ref": "Api"})


def test_unknown_attribute_error_lists_the_available_ones() -> None:
    with pytest.raises(TemplateError, match=r"Queue\.Nope: AWS::SQS::Queue has Arn, QueueName"):
        INTRINSICS.resolve({"Fn::GetAtt": ["Queue", "Nope"]})


def test_unsupported_intrinsic_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="Fn::If is not supported"):
        INTRINSICS.resolve({"Fn::If": ["Cond", "a", "b"]})


def test_environment_values_are_strings_with_sam_booleans() -> None:
    assert INTRINSICS.environment({"FLAG": True, "N": 3, "Q": {"Ref": "Queue"}}) == {
        "FLAG": "true",
        "N": "3",
        "Q": "https://sqs.local/1/q",
    }


def test_referenced_resources_follow_ref_get_att_and_sub(tmp_path: Path) -> None:
    # GIVEN properties that refer to resources in three ways, and to a parameter
    template = template_from(
        """
        Parameters: {Stage: {Type: String}}
        Resources: {A: {}, B: {}, C: {}, D: {}}
        """,
        tmp_path,
    )
    value = {
        "x": {"Ref": "A"},
        "y": [{"Fn::GetAtt": ["B", "Arn"]}],
        "z": {"Fn::Sub": "${C.Arn}/${Stage}/${AWS::Region}"},
    }
    # THEN only resources count
    assert referenced_resources(value, template) == {"A", "B", "C"}
