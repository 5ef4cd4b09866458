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
# aws:ec2:instances and aws:elbv2:listener:listener_port (here 443) checked against the same
# command-options-general.md (03fba45): InstanceTypes replaces the obsolete launchconfiguration
# InstanceType; a listener's options are the same set on every port.
DOCUMENTED_OPTIONS = {
    "aws:ec2:instances": {
        "EnableSpot", "InstanceTypes", "SpotFleetOnDemandBase", "SpotFleetOnDemandAboveBasePercentage", "SpotMaxPrice",
    },
    "aws:elbv2:listener:443": {
        "DefaultProcess", "ListenerEnabled", "Protocol", "Rules", "SSLCertificateArns", "SSLPolicy",
    },
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
    # Used only in deploy/aws/environment-options.json (per environment), from the same page.
    "aws:autoscaling:launchconfiguration": {
        "DisableIMDSv1", "EC2KeyName", "IamInstanceProfile", "ImageId", "InstanceType", "MonitoringInterval",
        "SecurityGroups", "SSHSourceRestriction", "BlockDeviceMappings", "RootVolumeType", "RootVolumeSize",
        "RootVolumeIOPS",
    },
    "aws:ec2:vpc": {"VPCId", "Subnets", "ELBSubnets", "ELBScheme", "DBSubnets", "AssociatePublicIpAddress"},
}
FREE_FORM_NAMESPACES = {"aws:elasticbeanstalk:application:environment", "aws:elasticbeanstalk:customoption"}
SECRET_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
# The minimum: one alarm per concern in the brief, and three dashboards.
ALARM_METRICS = {
    ("AIPrism", "ModelThrottles"), ("AWS/EC2", "CPUUtilization"), ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
    ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"), ("AIPrism", "QueueDepth"), ("AIPrism", "ServerErrors"),
    ("AIPrism", "Requests"), ("AIPrism", "Latency"), ("CWAgent", "mem_used_percent"),
}
# Metric names per AWS namespace, as AWS documents them; an alarm or dashboard naming anything else
# fails here. Sources (each checked by name): Application Load Balancer "CloudWatch metrics for your
# Application Load Balancer"; Bedrock "Monitor Amazon Bedrock with CloudWatch" (runtime metrics);
# EC2 "Instance metrics"; EC2 Auto Scaling "Auto Scaling group metrics"; ElastiCache "Metrics for
# Valkey and Redis OSS" (host-level CurrConnections, engine DatabaseMemoryUsagePercentage, Evictions);
# Elastic Beanstalk "Publishing Amazon CloudWatch custom metrics for an environment"
# (health-enhanced-cloudwatch.md: EnvironmentHealth is published with enhanced health, free);
# CloudWatch agent "Metrics collected by the CloudWatch agent" (mem_used_percent, disk_used_percent;
# the agent's default namespace CWAgent, customize-containers-cw.md). AIPrism names are checked
# against what the app really emits (test_every_app_metric_named_is_one_the_app_emits).
DOCUMENTED_METRICS = {
    "AWS/ApplicationELB": {"RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_4XX_Count",
                           "TargetResponseTime", "HealthyHostCount", "UnHealthyHostCount"},
    "AWS/Bedrock": {"Invocations", "InvocationThrottles", "InvocationServerErrors", "InvocationClientErrors",
                    "InvocationLatency", "InputTokenCount", "OutputTokenCount"},
    "AWS/EC2": {"CPUUtilization", "NetworkIn", "NetworkOut"},
    "AWS/AutoScaling": {"GroupInServiceInstances"},
    "AWS/ElastiCache": {"DatabaseMemoryUsagePercentage", "Evictions", "CurrConnections"},
    "AWS/ElasticBeanstalk": {"EnvironmentHealth"},
    "CWAgent": {"mem_used_percent", "disk_used_percent"},
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
    # t3.large in three Availability Zones, as defaults an environment's own settings outrank.
    assert o[("aws:ec2:instances", "InstanceTypes")].split(",")[0] == "t3.large"
    assert o[("aws:autoscaling:asg", "Availability Zones")] == "Any 3"
    assert o[(env, "METRICS_EMF")] == "true" and o[(env, "METRICS_EMF_ENDPOINT")] == "tcp://127.0.0.1:25888"
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


def alarm_metrics(resources: dict) -> set[tuple[str, str]]:
    """(namespace, metric) of every alarm, single-metric and metric-math alike."""
    found = set()
    for resource in resources.values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        if "MetricName" in props:
            found.add((props["Namespace"], props["MetricName"]))
        for query in props.get("Metrics", []):
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                found.add((metric["Namespace"], metric["MetricName"]))
    return found


def dashboard_bodies(resources: dict) -> list[dict]:
    bodies = []
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            separator, parts = resource["Properties"]["DashboardBody"]["Fn::Join"]
            bodies.append(json.loads(separator.join(part if isinstance(part, str) else "arn:x/filled-in" for part in parts)))
    return bodies


def dashboard_metrics(resources: dict) -> set[tuple[str, str]]:
    """(namespace, metric) of every dashboard graph, reading CloudWatch's "." (same as the line
    above) and "..." (the line above again, other options) shorthands."""
    found = set()
    for body in dashboard_bodies(resources):
        for widget in body["widgets"]:
            previous: list = []
            for line in widget["properties"].get("metrics", []):
                names = [item for item in line if isinstance(item, str)]
                if names[:1] == ["..."]:
                    names = previous
                else:
                    names = [prev if item == "." and i < len(previous) else item for i, (item, prev) in
                             enumerate(zip(names, previous + [None] * len(names)))]
                found.add((names[0], names[1]))
                previous = names
    return found


def test_every_metric_and_namespace_is_a_documented_one():
    res = eb.resources()
    named = alarm_metrics(res) | dashboard_metrics(res)
    for namespace, metric in named:
        if namespace == "AIPrism":
            continue
        assert namespace in DOCUMENTED_METRICS, f"namespace {namespace} is not in the checked list"
        assert metric in DOCUMENTED_METRICS[namespace], f"{namespace} has no documented metric {metric}"


def emitted_app_metrics(redis_url: str) -> set[str]:
    """Metric names the app's EMF records really carry, captured from its own emitters."""
    from app import metrics

    records: list[dict] = []
    saved = (metrics._emf_enabled, metrics._emf_sink)
    metrics._emf_enabled, metrics._emf_sink = True, records.append
    try:
        metrics.observe_model_call("m", "analysis", "throttle", 10.0, {"input_tokens": 1}, 5.0)
        metrics.observe_fallback("m", "n")
        metrics.observe_job("analyse_section", "completed", 1.0)
        metrics.emf_request(500, 0.1)
        import redis

        from workers.scheduler import emit_queue_depths  # the scheduler's QueueDepth records

        emit_queue_depths(redis.Redis.from_url(redis_url))
    finally:
        metrics._emf_enabled, metrics._emf_sink = saved
    return {m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_every_app_metric_named_is_one_the_app_emits(redis_url):
    res = eb.resources()
    named = {metric for namespace, metric in alarm_metrics(res) | dashboard_metrics(res) if namespace == "AIPrism"}
    emitted = emitted_app_metrics(redis_url)
    assert named and named <= emitted, named - emitted


def test_alarms_and_dashboards_cover_the_brief():
    res = eb.resources()
    alarms = alarm_metrics(res)
    assert ALARM_METRICS <= alarms, ALARM_METRICS - alarms
    dashboards = dashboard_metrics(res)
    for wanted in [("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"), ("AWS/ElastiCache", "Evictions"),
                   ("AWS/ElastiCache", "CurrConnections"), ("CWAgent", "mem_used_percent"), ("CWAgent", "disk_used_percent"),
                   ("AWS/ElasticBeanstalk", "EnvironmentHealth")]:
        assert wanted in dashboards, wanted
    memory = next(r["Properties"] for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"
                  and r["Properties"].get("MetricName") == "mem_used_percent")
    assert memory["Threshold"] == 80 and memory["ComparisonOperator"] == "GreaterThanThreshold"
    throttles = next(r["Properties"] for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"
                     and r["Properties"].get("MetricName") == "ModelThrottles")
    assert "Dimensions" not in throttles  # the sum over every model, not one model's series
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


def test_https_listener_and_http_redirect():
    o = eb.options()
    https = "aws:elbv2:listener:443"
    assert (o[(https, "ListenerEnabled")], o[(https, "Protocol")], o[(https, "DefaultProcess")]) == ("true", "HTTPS", "default")
    assert o[(https, "SSLPolicy")].startswith("ELBSecurityPolicy-TLS13")
    # The certificate is per environment: never committed, given by the environment's option settings.
    assert (https, "SSLCertificateArns") not in o
    environment = json.loads((eb.ROOT / "deploy" / "aws" / "environment-options.json").read_text())
    given = {(item["Namespace"], item["OptionName"]): item["Value"] for item in environment}
    assert given[(https, "SSLCertificateArns")].startswith("arn:aws:acm:")
    listener = eb.resources()["AWSEBV2LoadBalancerListener"]["Properties"]
    assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
    (action,) = listener["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
                                        "Query": "#{query}", "StatusCode": "HTTP_301"}


def test_environment_options_file_names_documented_options_only():
    """deploy/aws/environment-options.json, the per-environment settings given at creation."""
    environment = json.loads((eb.ROOT / "deploy" / "aws" / "environment-options.json").read_text())
    for item in environment:
        namespace, name = item["Namespace"], item["OptionName"]
        if namespace in FREE_FORM_NAMESPACES:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
            assert name not in SECRET_NAMES - {"REDIS_URL"}, f"{name} belongs in Secrets Manager"
            continue
        assert name in DOCUMENTED_OPTIONS.get(namespace, ()), f"{namespace}:{name}"


def test_cloudwatch_agent_collects_memory_disk_and_listens_for_emf():
    (content,) = [f["content"] for path, f in eb.files().items() if "amazon-cloudwatch-agent" in path]
    agent = json.loads(content)
    collected = agent["metrics"]["metrics_collected"]
    assert collected["mem"]["measurement"] == ["mem_used_percent"]
    assert collected["disk"]["measurement"] == ["used_percent"] and collected["disk"]["resources"] == ["/"]
    assert agent["metrics"]["namespace"] == "CWAgent"
    assert ["AutoScalingGroupName"] in agent["metrics"]["aggregation_dimensions"]
    assert "emf" in agent["logs"]["metrics_collected"]
    commands = [c["command"] for c in eb.container_commands().values() if "amazon-cloudwatch-agent-ctl" in c["command"]]
    assert len(commands) == 1 and "-a append-config" in commands[0]
    path = next(p for p in eb.files() if "amazon-cloudwatch-agent" in p)
    assert f"file:{path}" in commands[0]
