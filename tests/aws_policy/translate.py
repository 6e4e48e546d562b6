"""Translates template.yaml to CloudFormation offline with SAM's own translator (the one `sam deploy` runs
in CloudFormation's transform), and prints each function's HttpApi paths and inline policy statements as JSON.

Usage: python translate.py TEMPLATE. Runs on the aws-sam-cli virtualenv's Python, which ships samtranslator."""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """Packyard's functions use inline policies only; a managed policy name would need IAM to resolve."""

    def load(self):
        return {}


def main(path):
    with open(path) as template:
        sam = yaml_parse(template.read())
    # What `sam package` would do: point local code at an uploaded artifact (no policy depends on it).
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://packyard-artifacts/code.zip"
    # Pseudo parameters stay as they are in the policies (!Sub keeps ${AWS::Partition}); the translator only
    # wants a region to exist, and must not look for credentials.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    cfn = transform(sam, {}, NoManagedPolicies())
    resources = cfn["Resources"]
    functions = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resources[resource["Properties"]["Role"]["Fn::GetAtt"][0]]
        statements = [
            statement
            for policy in role["Properties"].get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]
        ]
        managed = role["Properties"].get("ManagedPolicyArns", [])
        environment = resource["Properties"].get("Environment", {}).get("Variables", {})
        functions[name] = {"statements": statements, "managed": managed, "paths": [], "environment": sorted(environment)}
    for name, resource in sam["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                functions[name]["paths"].append(event["Properties"]["Path"])
    json.dump(functions, sys.stdout, indent=1, default=str)


main(sys.argv[1])
