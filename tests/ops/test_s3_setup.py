"""deploy/aws/s3_bucket.py against moto: every setting lands, and a second run changes nothing."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from deploy.aws import s3_bucket

ROLE = "arn:aws:iam::123456789012:role/aws-elasticbeanstalk-ec2-role"
REPLICATION_ROLE = "arn:aws:iam::123456789012:role/ai-prism-s3-replication"


@pytest.fixture
def session(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def run(session, **extra):
    return s3_bucket.setup(session, bucket="ai-prism-docs", backup_bucket="ai-prism-docs-backup",
                           instance_role_arn=ROLE, replication_role_arn=REPLICATION_ROLE,
                           region="us-east-1", backup_region="us-west-2", **extra)


def test_first_run_configures_everything_and_second_run_changes_nothing(session):
    first = run(session)
    assert first["primary"]["bucket"] == "created" and first["backup"]["bucket"] == "created"
    assert set(first["primary"].values()) == {"created", "updated"}
    second = run(session)
    assert set(second["primary"].values()) == {"unchanged"} and set(second["backup"].values()) == {"unchanged"}, second

    s3 = session.client("s3")
    bucket = "ai-prism-docs"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert session.client("s3", region_name="us-west-2").get_bucket_versioning(Bucket="ai-prism-docs-backup")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["standard-ia-after-30-days"]["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]
    assert rules["expire-noncurrent-after-90-days"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    replication = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    assert replication["Role"] == REPLICATION_ROLE
    assert replication["Rules"][0]["Destination"]["Bucket"] == "arn:aws:s3:::ai-prism-docs-backup"
    assert "ReplicationTime" not in replication["Rules"][0]["Destination"]
    # The backup bucket: Glacier after 30 days, gone after 365, old versions alike.
    backup_rules = {r["ID"]: r for r in session.client("s3", region_name="us-west-2").get_bucket_lifecycle_configuration(
        Bucket="ai-prism-docs-backup")["Rules"]}
    glacier = backup_rules["glacier-after-30-days-expire-after-365"]
    assert glacier["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}] and glacier["Expiration"]["Days"] == 365
    assert glacier["NoncurrentVersionExpiration"]["NoncurrentDays"] == 365


def test_replication_time_control_when_asked(session):
    run(session, replication_time_control=True)
    destination = session.client("s3").get_bucket_replication(Bucket="ai-prism-docs")["ReplicationConfiguration"]["Rules"][0]["Destination"]
    assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    again = run(session, replication_time_control=True)
    assert again["primary"]["replication"] == "unchanged"


def test_policy_is_least_privilege_for_the_instance_role(session):
    run(session)
    policy = json.loads(session.client("s3").get_bucket_policy(Bucket="ai-prism-docs")["Policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"AWS": ROLE} for s in allows)
    actions = {a for s in allows for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation"}
    assert all("*" not in r.split(":::")[1].split("/")[0] for s in allows for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))
    denies = {s["Sid"] for s in policy["Statement"] if s["Effect"] == "Deny"}
    assert denies == {"DenyInsecureTransport", "DenyUnencryptedUploads"}


def test_a_setting_changed_by_hand_is_put_back(session):
    run(session)
    s3 = session.client("s3")
    s3.put_bucket_lifecycle_configuration(Bucket="ai-prism-docs", LifecycleConfiguration={"Rules": [
        {"ID": "other", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    again = run(session)
    assert again["primary"]["lifecycle"] == "updated"
    assert [k for k, v in again["primary"].items() if v != "unchanged"] == ["lifecycle"]


def test_app_storage_works_with_the_policy_settings(session):
    """The app's own uploads carry the encryption header the policy demands."""
    import inspect

    from app import storage

    assert 'ServerSideEncryption="AES256"' in inspect.getsource(storage)


def test_iam_policy_grants_bedrock_invoke_and_streaming_and_the_bucket_only():
    policy = s3_bucket.document("instance-role-policy.json", {"BUCKET": "b", "ACCOUNT_ID": "123456789012", "ENVIRONMENT": "ai-prism-prod"})
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"} <= actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    # The settings secrets of this environment only (SECRETS_ARN), and what the CloudWatch agent needs.
    secrets = [s for s in policy["Statement"] if s["Sid"] == "ReadSettingsSecrets"]
    assert secrets[0]["Action"] == "secretsmanager:GetSecretValue"
    assert secrets[0]["Resource"] == "arn:aws:secretsmanager:*:123456789012:secret:ai-prism-prod/*"
    assert {"cloudwatch:PutMetricData", "logs:PutLogEvents"} <= actions
    s3_resources = {r for s in policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]) if ":s3:" in r}
    assert s3_resources == {"arn:aws:s3:::b", "arn:aws:s3:::b/*"}
