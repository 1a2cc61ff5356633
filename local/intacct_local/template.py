"""Reads template.yaml the way CloudFormation would, enough to run it locally: parameters, conditions,
the functions (with their merged Globals) and the state machine definition with its substitutions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Template:
    """template.yaml with intrinsic functions resolved against local physical ids."""

    doc: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> name / ARN used locally

    @classmethod
    def load(cls, path: Path = ROOT / "template.yaml", overrides: dict[str, str] | None = None) -> Template:
        doc = yaml_parse(path.read_text())
        params = {k: str(v.get("Default", "")) for k, v in doc.get("Parameters", {}).items()}
        params.update({k: str(v) for k, v in (overrides or {}).items()})
        return cls(doc, params)

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.doc["Resources"]
        return resources

    def of_type(self, type_name: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.doc.get("Conditions", {})[name]))

    def functions(self) -> dict[str, dict[str, Any]]:
        """Every AWS::Serverless::Function with Globals merged in (environment variables merged too)."""
        glob = self.doc.get("Globals", {}).get("Function", {})
        out = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = {**glob, **res["Properties"]}
            env = dict(glob.get("Environment", {}).get("Variables", {}))
            env.update(res["Properties"].get("Environment", {}).get("Variables", {}))
            props["Environment"] = {"Variables": env}
            out[logical_id] = props
        return out

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Fn::Sub, Fn::GetAtt, Fn::If, the condition functions, Fn::Join and Fn::Split."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            if arg in self.parameters:
                return self.parameters[arg]
            if arg.startswith("AWS::"):
                return {
                    "AWS::Region": "us-east-1",
                    "AWS::AccountId": "123456789012",
                    "AWS::Partition": "aws",
                    "AWS::StackName": "intacct-sync-local",
                }[arg]
            return self.physical.get(arg, arg)
        if key == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.physical.get(f"{logical}.{attr}", self.physical.get(logical, logical))
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})

            def sub(match: Any) -> str:
                name = match.group(1)
                if name in variables:
                    return str(self.resolve(variables[name]))
                if "." in name:
                    return str(self.resolve({"Fn::GetAtt": name}))
                return str(self.resolve({"Ref": name}))

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if key == "Fn::If":
            cond, yes, no = arg
            return self.resolve(yes if self.condition(cond) else no)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if key == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        if key == "Fn::Equals":
            a, b = (self.resolve(x) for x in arg)
            return str(a) == str(b)
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(i) for i in self.resolve(items))
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        return {k: self.resolve(v) for k, v in value.items()}

    def state_machine_definition(self, logical_id: str = "ExportStateMachine") -> str:
        """The ASL file named by DefinitionUri with DefinitionSubstitutions applied (the real workflow)."""
        props = self.resources[logical_id]["Properties"]
        definition = (ROOT / props["DefinitionUri"]).read_text()
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace(f"${{{name}}}", str(self.resolve(value)))
        return definition


def create_state_table(dynamodb: Any, name: str, template: Template | None = None) -> None:
    """Create the template's StateTable (its key schema, on-demand) under ``name`` in emulated DynamoDB:
    the one way the local runner, the benchmarks and the tests make it."""
    props = (template or Template.load()).resources["StateTable"]["Properties"]
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
    )
