"""The Elastic Beanstalk configuration: every option namespace and name is a documented one, the
values are the ones the operations brief asks for, and the CloudFormation resources pass cfn-lint."""
from __future__ import annotations

import json
import re

import pytest

from tests.ops import ebextensions as eb

# Documented option names per namespace, from the Elastic Beanstalk Developer Guide:
# "General options for all environments" (docs.aws.amazon.com/elasticbeanstalk/latest/dg/
# command-options-general.html) and "Platform specific options", Python section
# (…/dg/command-options-specific.html#command-options-python). Only namespaces we use are listed,
# each with all of its documented options, so a misspelt or invented name fails here instead of
# at `eb deploy`. Namespaces whose option names are free (environment properties, custom options)
# are checked separately. Checked name by name (and each value we set against its documented range)
# against the guide's own source, awsdocs/aws-elastic-beanstalk-developer-guide at 218757e
# (doc_source/command-options-general.md) and 5635f71 (doc_source/command-options-specific.md);
# EnableCapacityRebalancing and IpAddressType are newer than that copy, from the current pages.
DOCUMENTED_OPTIONS = {
    "aws:autoscaling:asg": {
        "Availability Zones", "Cooldown", "Custom Availability Zones", "EnableCapacityRebalancing", "MinSize", "MaxSize",
    },
    "aws:autoscaling:trigger": {
        "BreachDuration", "LowerBreachScaleIncrement", "LowerThreshold", "MeasureName", "Period", "EvaluationPeriods",
        "Statistic", "Unit", "UpperBreachScaleIncrement", "UpperThreshold",
    },
    "aws:autoscaling:updatepolicy:rollingupdate": {
        "MaxBatchSize", "MinInstancesInService", "RollingUpdateEnabled", "RollingUpdateType", "PauseTime", "Timeout",
    },
    "aws:elasticbeanstalk:command": {
        "DeploymentPolicy", "Timeout", "BatchSizeType", "BatchSize", "IgnoreHealthCheck",
    },
    "aws:elasticbeanstalk:environment": {
        "EnvironmentType", "ServiceRole", "LoadBalancerType", "LoadBalancerIsShared",
    },
    "aws:elasticbeanstalk:environment:process:default": {
        "DeregistrationDelay", "HealthCheckInterval", "HealthCheckPath", "HealthCheckTimeout", "HealthyThresholdCount",
        "MatcherHTTPCode", "Port", "Protocol", "StickinessEnabled", "StickinessLBCookieDuration", "StickinessType",
        "UnhealthyThresholdCount",
    },
    "aws:elasticbeanstalk:environment:proxy": {"ProxyServer"},
    "aws:elbv2:loadbalancer": {
        "AccessLogsS3Bucket", "AccessLogsS3Enabled", "AccessLogsS3Prefix", "IdleTimeout", "IpAddressType",
        "ManagedSecurityGroup", "SecurityGroups", "SharedLoadBalancer",
    },
    "aws:elasticbeanstalk:cloudwatch:logs": {"StreamLogs", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elasticbeanstalk:cloudwatch:logs:health": {"HealthStreamingEnabled", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elasticbeanstalk:healthreporting:system": {
        "SystemType", "ConfigDocument", "EnhancedHealthAuthEnabled", "HealthCheckSuccessThreshold",
    },
    "aws:elasticbeanstalk:container:python": {"WSGIPath", "NumProcesses", "NumThreads"},
}
FREE_FORM_NAMESPACES = {"aws:elasticbeanstalk:application:environment", "aws:elasticbeanstalk:customoption"}
SECRET_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
# The minimum: one alarm per concern in the brief, and three dashboards.
ALARM_METRICS = {
    ("AWS/Bedrock", "InvocationThrottles"), ("AWS/EC2", "CPUUtilization"), ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
    ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"), ("AIPrism", "QueueDepth"),
}


def test_there_is_configuration():
    assert len(eb.config_files()) >= 5


@pytest.mark.parametrize("setting", eb.option_settings(), ids=lambda s: f"{s[1]}:{s[2]}")
def test_every_option_is_documented(setting):
    path, namespace, name, value = setting
    if namespace in FREE_FORM_NAMESPACES:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f"{path}: {name} is not a valid property name"
        return
    assert namespace in DOCUMENTED_OPTIONS, f"{path}: namespace {namespace} is not a documented one"
    assert name in DOCUMENTED_OPTIONS[namespace], f"{path}: {namespace} has no documented option {name}"
    assert isinstance(value, str), f"{path}: {namespace}:{name} should be a quoted string, got {value!r}"


def test_no_secret_is_committed():
    names = {name for _, namespace, name, _ in eb.option_settings() if namespace == "aws:elasticbeanstalk:application:environment"}
    assert not names & SECRET_NAMES
    text = "".join(p.read_text() for p in eb.config_files())
    assert not re.search(r"AKIA[0-9A-Z]{16}|postgres(ql)?://\w+:\w+@", text)


def test_values_the_brief_asks_for():
    o = eb.options()
    env = "aws:elasticbeanstalk:application:environment"
    assert o[(env, "APP_ENV")] == "production"
    process = "aws:elasticbeanstalk:environment:process:default"
    assert (o[(process, "HealthCheckPath")], o[(process, "HealthCheckInterval")], o[(process, "HealthCheckTimeout")],
            o[(process, "HealthyThresholdCount")], o[(process, "UnhealthyThresholdCount")]) == ("/health/ready", "30", "5", "2", "3")
    # The ALB sends to nginx (port 80), nginx to gunicorn on 127.0.0.1: exactly the two proxies
    # PROXY_COUNT trusts, so X-Forwarded-For cannot be forged past them.
    assert o[(process, "Port")] == "80"
    assert o[(env, "HOST")] == "127.0.0.1" and o[(env, "PROXY_COUNT")] == "2"
    assert o[("aws:elbv2:loadbalancer", "IdleTimeout")] == "600"
    assert o[("aws:elasticbeanstalk:environment", "LoadBalancerType")] == "application"
    assert (o[("aws:autoscaling:asg", "MinSize")], o[("aws:autoscaling:asg", "MaxSize")]) == ("3", "15")
    trigger = "aws:autoscaling:trigger"
    assert o[(trigger, "MeasureName")] == "CPUUtilization" and o[(trigger, "Unit")] == "Percent"
    assert (o[(trigger, "UpperThreshold")], o[(trigger, "BreachDuration")], o[(trigger, "LowerThreshold")]) == ("80", "5", "40")
    # Scale-in needs 10 minutes below 40%: EB's own low alarm is overridden with two 5-minute periods.
    low = eb.resources()["AWSEBCloudwatchAlarmLow"]["Properties"]
    assert low["Threshold"] == 40 and low["Period"] * low["EvaluationPeriods"] == 600
    assert low["ComparisonOperator"] == "LessThanThreshold" and low["MetricName"] == "CPUUtilization"
    rolling = "aws:autoscaling:updatepolicy:rollingupdate"
    assert o[(rolling, "RollingUpdateEnabled")] == "true" and int(o[(rolling, "MinInstancesInService")]) >= 1
    assert o[("aws:elasticbeanstalk:command", "DeploymentPolicy")] in ("Rolling", "RollingWithAdditionalBatch", "Immutable")
    assert o[("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs")] == "true"
    # The CDN base URL the static-asset work reads; empty means the app serves /static itself.
    assert (env, "STATIC_BASE_URL") in o


def test_migrations_run_once_per_deployment_on_the_leader():
    commands = eb.container_commands()
    migrate = [c for c in commands.values() if "scripts.migrate" in c["command"]]
    assert len(migrate) == 1 and migrate[0]["leader_only"] is True


def test_procfile_runs_web_worker_and_scheduler():
    from tests.ops.procfile import procfile

    processes = procfile()
    assert set(processes) == {"web", "worker", "scheduler"}
    assert processes["web"].startswith("gunicorn -c gunicorn.conf.py ")


def test_alarms_and_dashboards_cover_the_brief():
    res = eb.resources()
    alarms = {(r["Properties"]["Namespace"], r["Properties"]["MetricName"]) for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert ALARM_METRICS <= alarms
    dashboards = [r for r in res.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert len(dashboards) == 3
    for dashboard in dashboards:
        # The body once EB fills in each reference must be JSON with widgets.
        separator, parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"]
        body = separator.join(part if isinstance(part, str) else "arn:x/filled-in" for part in parts)
        widgets = json.loads(body)["widgets"]
        assert len(widgets) >= 4
        for widget in widgets:
            if widget["type"] == "metric":
                assert widget["properties"]["region"] and widget["properties"]["metrics"]


# Elastic Beanstalk's documented functions in .ebextensions (…/dg/ebextensions-functions.html):
# "Ref, Fn::GetAtt, Fn::Join, and one Elastic Beanstalk-specific function, Fn::GetOptionSetting".
DOCUMENTED_FUNCTIONS = {"Ref", "Fn::GetAtt", "Fn::Join", "Fn::GetOptionSetting"}


def _functions(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        found |= {key for key in node if key == "Ref" or key.startswith("Fn::")}
        for value in node.values():
            found |= _functions(value)
    elif isinstance(node, list):
        for item in node:
            found |= _functions(item)
    return found


def test_resources_use_only_the_functions_elastic_beanstalk_documents():
    used = _functions(eb.resources())
    assert used <= DOCUMENTED_FUNCTIONS, used - DOCUMENTED_FUNCTIONS


def test_nginx_in_front_lets_uploads_and_streams_through():
    """EB's nginx refuses bodies over 1 MB and cuts proxied responses after 60 s unless told."""
    from app.config import load_settings

    conf = (eb.ROOT / ".platform" / "nginx" / "conf.d" / "ai-prism.conf").read_text()
    directives = dict(re.findall(r"^\s*(\w+)\s+([^;]+);", conf, re.M))
    size = directives["client_max_body_size"]
    assert size.endswith("m") and int(size[:-1]) * 1024 * 1024 >= load_settings({})["MAX_CONTENT_LENGTH"]
    idle = int(eb.options()[("aws:elbv2:loadbalancer", "IdleTimeout")])
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        assert directives[name].endswith("s") and int(directives[name][:-1]) >= idle


def test_cloudformation_resources_pass_cfn_lint():
    import yaml
    from cfnlint.api import lint_all

    template = yaml.safe_dump(eb.cloudformation_template(), sort_keys=False)
    # Errors (E…) and warnings (W…) fail; informational matches (I…, e.g. I4010 asking for
    # architecture notes in Metadata) do not, as with cfn-lint's own exit code.
    matches = [m for m in lint_all(template) if not m.rule.id.startswith("I")]
    assert not matches, "\n".join(str(m) for m in matches)
