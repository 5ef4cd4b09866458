"""deploy/aws/ai-prism.yaml: passes cfn-lint, and says what the operations brief asks for — backup
bucket lifecycle and optional Replication Time Control, the daily database backup kept 35 days, the
settings secrets in the form the app reads, a CDN that caches only content-hashed assets, and a web
ACL on the load balancer."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "deploy" / "aws" / "ai-prism.yaml"
# The regions checked by cfn-lint: CloudFront is global and absent from GovCloud's resource lists.
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


@pytest.fixture(scope="module")
def template() -> dict:
    decoded, problems = decode_str(TEMPLATE_PATH.read_text())
    assert not problems, problems
    return decoded


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_template_passes_cfn_lint():
    from cfnlint.api import ManualArgs, lint

    matches = [m for m in lint(TEMPLATE_PATH.read_text(), config=ManualArgs(regions=REGIONS)) if not m.rule.id.startswith("I")]
    assert not matches, "\n".join(str(m) for m in matches)


def test_backup_bucket_goes_to_glacier_after_30_days_and_expires_after_365(template):
    rules = template["Resources"]["BackupBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Transitions")]
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": 30}]
    assert rule["ExpirationInDays"] == 365 and rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 365}
    # The boto3 script gives the backup bucket the same lifecycle.
    script = json.loads((ROOT / "deploy" / "aws" / "backup-lifecycle.json").read_text())["Rules"][0]
    assert script["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}] and script["Expiration"] == {"Days": 365}


def test_replication_to_the_backup_bucket_with_optional_time_control(template):
    (rule,) = template["Resources"]["DocumentsBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
    destination = rule["Destination"]
    assert destination["Bucket"] == {"Fn::GetAtt": ["BackupBucket", "Arn"]}
    condition, when_on, when_off = destination["ReplicationTime"]["Fn::If"]
    assert condition == "WithReplicationTimeControl"
    assert when_on == {"Status": "Enabled", "Time": {"Minutes": 15}} and when_off == {"Ref": "AWS::NoValue"}
    assert destination["Metrics"]["Fn::If"][1] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    assert template["Conditions"]["WithReplicationTimeControl"] == {"Fn::Equals": [{"Ref": "ReplicationTimeControl"}, "true"]}
    assert template["Parameters"]["ReplicationTimeControl"]["Default"] == "false"


def test_database_backed_up_daily_and_kept_35_days(template):
    (plan,) = resources_of(template, "AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    minute, hour, day_of_month, month, day_of_week, year = re.fullmatch(r"cron\((.*)\)", rule["ScheduleExpression"]).group(1).split()
    assert (day_of_month, month, day_of_week, year) == ("*", "*", "?", "*")  # every day, once
    assert minute.isdigit() and hour.isdigit()
    (selection,) = resources_of(template, "AWS::Backup::BackupSelection").values()
    assert selection["Properties"]["BackupSelection"]["Resources"] == [{"Ref": "DatabaseInstanceArn"}]
    assert not resources_of(template, "AWS::Lambda::Function")  # no home-made snapshot function


def test_secrets_hold_settings_the_app_reads_and_only_the_instance_role_may_read_them(template, monkeypatch):
    """Each secret is a JSON object keyed by setting name: what app.secrets reads at start."""
    import boto3
    from moto import mock_aws

    from app.secrets import read_secrets

    secret_key = template["Resources"]["SecretKeySecret"]["Properties"]["GenerateSecretString"]
    assert secret_key["GenerateStringKey"] == "SECRET_KEY" and json.loads(secret_key["SecretStringTemplate"]) == {}
    assert secret_key["PasswordLength"] >= 64
    database = template["Resources"]["DatabaseUrlSecret"]["Properties"]["SecretString"]["Fn::Sub"]
    assert template["Parameters"]["DatabaseUrl"]["NoEcho"] is True
    url = "postgresql://app:p%40ss@db.example.internal:5432/aiprism"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        # The two secrets as CloudFormation creates them: the template's string with the URL filled
        # in, and a generated key in the template's JSON shape.
        arns = [client.create_secret(Name="db", SecretString=database.replace("${DatabaseUrl}", url))["ARN"],
                client.create_secret(Name="key", SecretString=json.dumps({secret_key["GenerateStringKey"]: "k" * 64}))["ARN"]]
        assert read_secrets(arns) == {"DATABASE_URL": url, "SECRET_KEY": "k" * 64}

    policy = template["Resources"]["InstanceRolePolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "InstanceRoleName"}]
    (read,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ReadSettingsSecrets"]
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"] == [{"Ref": "SecretKeySecret"}, {"Ref": "DatabaseUrlSecret"}]
    output = template["Outputs"]["SecretsArn"]["Value"]
    assert output == {"Fn::Join": [",", [{"Ref": "SecretKeySecret"}, {"Ref": "DatabaseUrlSecret"}]]}


def cloudfront_matches(pattern: str, path: str) -> bool:
    """CloudFront path patterns: `*` any characters (slashes too), `?` exactly one."""
    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), path) is not None


def test_cdn_caches_only_content_hashed_static_paths(template):
    from app.web.assets import AssetManifest

    (distribution,) = resources_of(template, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Ref": "LoadBalancerOriginDomain"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_DISABLED and default["AllowedMethods"] == ["GET", "HEAD"]
    cached = [b["PathPattern"] for b in config["CacheBehaviors"] if b["CachePolicyId"] == CACHING_OPTIMIZED]
    assert cached and all(b["CachePolicyId"] == CACHING_OPTIMIZED for b in config["CacheBehaviors"])
    assert all(b["AllowedMethods"] == ["GET", "HEAD"] for b in config["CacheBehaviors"])

    manifest = AssetManifest(ROOT / "app" / "static")
    for asset in manifest.by_path.values():
        hashed, plain = f"/static/{asset.hashed_path}", f"/static/{asset.path}"
        assert any(cloudfront_matches(p, hashed) for p in cached), f"{hashed} would not be cached"
        assert not any(cloudfront_matches(p, plain) for p in cached), f"{plain} (not hashed) would be cached"
    for path in ("/", "/api/documents", "/dashboard", "/static/", "/health/ready"):
        assert not any(cloudfront_matches(p, path) for p in cached), path


def test_web_acl_has_the_managed_groups_and_a_rate_rule_and_guards_the_load_balancer(template):
    (acl,) = resources_of(template, "AWS::WAFv2::WebACL").values()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in props["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert groups == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}
    assert all(r["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS" for r in props["Rules"] if "ManagedRuleGroupStatement" in r["Statement"])
    (rate,) = [r for r in props["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Action"] == {"Block": {}} and rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert len({r["Priority"] for r in props["Rules"]}) == len(props["Rules"])
    # Uploads are larger than the common rule set's 8 KB body limit: that one rule only counts.
    common = next(r for r in props["Rules"] if r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet")
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    (association,) = resources_of(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"] == {"ResourceArn": {"Ref": "LoadBalancerArn"}, "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]}}
    # Attached once the stack is given the load balancer (a stack update after the environment exists).
    assert association["Condition"] == "WithLoadBalancer"
    assert template["Conditions"]["WithLoadBalancer"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LoadBalancerArn"}, ""]}]}
    pattern = template["Parameters"]["LoadBalancerArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(
        pattern, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/awseb-AWSEB-1ABC/0123456789abcdef")
    assert not re.fullmatch(pattern, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/x/1")
