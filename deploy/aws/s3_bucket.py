"""Set up (or bring back in line) the documents bucket and its backup bucket. Idempotent: each setting
is read first and written only when it differs, so a second run changes nothing and says so.

    python -m deploy.aws.s3_bucket --bucket ai-prism-docs --backup-bucket ai-prism-docs-backup \\
        --instance-role-arn arn:aws:iam::123456789012:role/aws-elasticbeanstalk-ec2-role \\
        --replication-role-arn arn:aws:iam::123456789012:role/ai-prism-s3-replication \\
        --region us-east-1 --backup-region us-west-2

The settings are the JSON files beside this script (the same ones the README's manual steps use):
public access blocked, versioning, default encryption (SSE-S3), lifecycle (Standard-IA after 30 days,
noncurrent versions expire after 90), the bucket policy (TLS only, encrypted uploads only, the
instance role's object access), and replication of every new object to the backup bucket, with
S3 Replication Time Control when --replication-time-control is given. The backup bucket moves
objects to Glacier after 30 days and expires them after 365 (backup-lifecycle.json). deploy/aws/
ai-prism.yaml creates the same buckets, and the rest of the deployment, with CloudFormation.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def document(name: str, values: dict[str, str]) -> dict:
    """A JSON file from this folder with ${NAME} placeholders filled in."""
    text = (HERE / name).read_text()
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError(f"{name}: a placeholder was left unfilled")
    return json.loads(text)


def _missing(error, *codes: str) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") in codes


def ensure_bucket(s3, bucket: str, region: str) -> str:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return "unchanged"
    except ClientError as error:
        if not _missing(error, "404", "NoSuchBucket", "NotFound"):
            raise
    options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **options)
    return "created"


def _sync(read, write, wanted, current_key=None, missing_codes=()):
    """Write ``wanted`` unless the current value already equals it."""
    from botocore.exceptions import ClientError

    try:
        current = read()
        if current_key:
            current = current.get(current_key)
    except ClientError as error:
        if not _missing(error, *missing_codes):
            raise
        current = None
    if _normal(current) == _normal(wanted):
        return "unchanged"
    write(wanted)
    return "updated"


def _normal(value):
    """Compare settings without the response metadata and key order S3 adds."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def configure_bucket(s3, bucket: str, region: str, *, policy: dict | None, lifecycle: str | None = "lifecycle.json",
                     replication: dict | None = None) -> dict[str, str]:
    changes = {"bucket": ensure_bucket(s3, bucket, region)}
    changes["public_access_block"] = _sync(
        lambda: s3.get_public_access_block(Bucket=bucket), lambda v: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=v),
        document("public-access-block.json", {}), "PublicAccessBlockConfiguration", ("NoSuchPublicAccessBlockConfiguration",))
    versioning = document("versioning.json", {})
    changes["versioning"] = _sync(
        lambda: {"Status": s3.get_bucket_versioning(Bucket=bucket).get("Status")},
        lambda v: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=v), versioning)
    changes["encryption"] = _sync(
        lambda: s3.get_bucket_encryption(Bucket=bucket), lambda v: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=v),
        document("encryption.json", {}), "ServerSideEncryptionConfiguration", ("ServerSideEncryptionConfigurationNotFoundError",))
    if lifecycle:
        changes["lifecycle"] = _sync(
            lambda: {"Rules": s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]},
            lambda v: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=v),
            document(lifecycle, {}), None, ("NoSuchLifecycleConfiguration",))
    if policy is not None:
        changes["policy"] = _sync(
            lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
            lambda v: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(v)), policy, None, ("NoSuchBucketPolicy",))
    if replication is not None:
        changes["replication"] = _sync(
            lambda: s3.get_bucket_replication(Bucket=bucket), lambda v: s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=v),
            replication, "ReplicationConfiguration", ("ReplicationConfigurationNotFoundError",))
    return changes


def replication_rules(values: dict[str, str], time_control: bool) -> dict:
    """replication.json, with Replication Time Control (15 minutes, and its metrics) when asked."""
    config = document("replication.json", values)
    if time_control:
        for rule in config["Rules"]:
            rule["Destination"]["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
            rule["Destination"]["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    return config


def setup(session, *, bucket: str, backup_bucket: str, instance_role_arn: str, replication_role_arn: str,
          region: str, backup_region: str | None = None, replication_time_control: bool = False) -> dict[str, dict[str, str]]:
    """Both buckets, backup first (replication needs a versioned destination)."""
    backup_region = backup_region or region
    backup = configure_bucket(session.client("s3", region_name=backup_region), backup_bucket, backup_region, policy=None,
                              lifecycle="backup-lifecycle.json")
    values = {"BUCKET": bucket, "BACKUP_BUCKET": backup_bucket, "INSTANCE_ROLE_ARN": instance_role_arn,
              "REPLICATION_ROLE_ARN": replication_role_arn}
    primary = configure_bucket(
        session.client("s3", region_name=region), bucket, region,
        policy=document("bucket-policy.json", values), replication=replication_rules(values, replication_time_control),
    )
    return {"backup": backup, "primary": primary}


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--backup-bucket", required=True)
    parser.add_argument("--instance-role-arn", required=True, help="the Elastic Beanstalk instance profile's role")
    parser.add_argument("--replication-role-arn", required=True, help="a role S3 assumes to replicate (replication-role-policy.json)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--backup-region", default=None, help="default: --region; another region survives a regional outage")
    parser.add_argument("--replication-time-control", action="store_true",
                        help="S3 Replication Time Control: replicas within 15 minutes, with replication metrics (charged per GB)")
    args = parser.parse_args(argv)
    result = setup(boto3.Session(), bucket=args.bucket, backup_bucket=args.backup_bucket,
                   instance_role_arn=args.instance_role_arn, replication_role_arn=args.replication_role_arn,
                   region=args.region, backup_region=args.backup_region,
                   replication_time_control=args.replication_time_control)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
