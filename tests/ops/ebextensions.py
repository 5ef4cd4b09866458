"""Reading .ebextensions the way Elastic Beanstalk does: option settings (both the mapping and the
list form), container commands, and the CloudFormation Resources as a template cfn-lint can check."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EBEXTENSIONS = ROOT / ".ebextensions"

# Resources and values Elastic Beanstalk itself puts in the environment's stack, which our
# Resources refer to. Stubs of the real types stand in for them, so cfn-lint checks every Ref and
# GetAtt against the real schemas (LoadBalancerFullName on an ALB, Arn on an alarm…).
EB_PROVIDED_RESOURCES = {
    "AWSEBAutoScalingGroup": {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "Properties": {"MinSize": "3", "MaxSize": "15", "AvailabilityZones": {"Fn::GetAZs": ""},
                       "LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "1"}},
    },
    "AWSEBAutoScalingScaleDownPolicy": {
        "Type": "AWS::AutoScaling::ScalingPolicy",
        "Properties": {"AutoScalingGroupName": {"Ref": "AWSEBAutoScalingGroup"}, "AdjustmentType": "ChangeInCapacity",
                       "ScalingAdjustment": -1},
    },
    "AWSEBV2LoadBalancer": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Type": "application", "Subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
    },
    "AWSEBV2LoadBalancerListener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {"LoadBalancerArn": {"Ref": "AWSEBV2LoadBalancer"}, "Port": 80, "Protocol": "HTTP",
                       "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "AWSEBV2LoadBalancerTargetGroup"}}]},
    },
    "AWSEBV2LoadBalancerTargetGroup": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-0123456789abcdef0"},
    },
}
EB_PROVIDED_PARAMETERS = {"AWSEBEnvironmentName": {"Type": "String"}}


def config_files() -> list[Path]:
    return sorted(EBEXTENSIONS.glob("*.config"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def option_settings() -> list[tuple[str, str, str, str]]:
    """(file, namespace, option name, value) for every option setting, in both documented forms."""
    found = []
    for path in config_files():
        settings = load(path).get("option_settings") or {}
        if isinstance(settings, dict):
            for namespace, options in settings.items():
                for name, value in (options or {}).items():
                    found.append((path.name, namespace, name, value))
        else:
            for item in settings:
                found.append((path.name, item["namespace"], item["option_name"], item.get("value")))
    return found


def options() -> dict[tuple[str, str], str]:
    return {(namespace, name): value for _, namespace, name, value in option_settings()}


def files() -> dict[str, dict]:
    found = {}
    for path in config_files():
        found.update(load(path).get("files") or {})
    return found


def container_commands() -> dict[str, dict]:
    commands = {}
    for path in config_files():
        commands.update(load(path).get("container_commands") or {})
    return commands


def resources() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in config_files():
        for name, resource in (load(path).get("Resources") or {}).items():
            assert name not in found, f"{name} defined twice"
            found[name] = resource
    return found


def _resolve_option_settings(node, custom: dict[tuple[str, str], str]):
    """Replace Fn::GetOptionSetting (an Elastic Beanstalk function) with the value EB would give it."""
    if isinstance(node, dict):
        if set(node) == {"Fn::GetOptionSetting"}:
            ref = node["Fn::GetOptionSetting"]
            return custom.get((ref.get("Namespace", "aws:elasticbeanstalk:customoption"), ref["OptionName"]),
                              ref.get("DefaultValue"))
        return {key: _resolve_option_settings(value, custom) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_option_settings(item, custom) for item in node]
    return node


def cloudformation_template() -> dict:
    """Our Resources plus stubs of what EB provides, as one CloudFormation template."""
    ours = _resolve_option_settings(copy.deepcopy(resources()), options())
    merged = copy.deepcopy(EB_PROVIDED_RESOURCES)
    for name, resource in ours.items():
        if name in merged:
            # One of EB's own resources, extended: our properties are added to (or replace) EB's.
            assert resource["Type"] == merged[name]["Type"], name
            merged[name]["Properties"].update(resource.get("Properties") or {})
        else:
            # AWSEBCloudwatchAlarmLow stands for EB's own alarm of that name; the rest are ours.
            merged[name] = resource
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": EB_PROVIDED_PARAMETERS,
        "Resources": merged,
    }
