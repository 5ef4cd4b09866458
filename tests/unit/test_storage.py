import re
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from app.storage import LocalStorage, S3Storage, StorageError, safe_name, upload_key


@pytest.mark.parametrize("given,expected", [
    ("Report Q3 (final).docx", "Report_Q3_final_.docx"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\evil.docx", "evil.docx"),
    (".hidden", "hidden"),
    ("", "file"),
    ("<script>alert(1)</script>.md", "script_.md"),  # the slash makes it a path
    ("<img src=x onerror=1>;rm -rf.md", "img_src_x_onerror_1_rm_-rf.md"),
])
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def test_safe_name_keeps_the_extension_when_shortening():
    name = safe_name("a" * 300 + ".docx")
    assert len(name) == 100 and name.endswith(".docx")


def test_upload_key_layout():
    key = upload_key(7, "My Report.docx", datetime(2026, 3, 4, tzinfo=timezone.utc))
    assert re.fullmatch(r"uploads/2026/03/04/user-7-[0-9a-f]{32}-My_Report\.docx", key)


def test_local_storage_round_trip_and_no_escape(tmp_path):
    store = LocalStorage(str(tmp_path / "store"))
    store.put("uploads/a/b.txt", b"hello")
    assert store.get("uploads/a/b.txt") == b"hello"
    store.delete("uploads/a/b.txt")
    with pytest.raises(StorageError):
        store.get("uploads/a/b.txt")
    with pytest.raises(StorageError):
        store.put("../outside.txt", b"x")
    assert store.check()["backend"] == "local"


@mock_aws
def test_s3_storage_encrypts_and_records_metadata():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="prism")
    store = S3Storage("prism", prefix="tenant/", region="us-east-1")
    store.put("uploads/x.docx", b"data", content_type="application/octet-stream", metadata={"user-id": 7})
    head = boto3.client("s3", region_name="us-east-1").head_object(Bucket="prism", Key="tenant/uploads/x.docx")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {"user-id": "7"}
    assert store.get("uploads/x.docx") == b"data"
    assert store.check() == {"backend": "s3", "bucket": "prism"}
    store.delete("uploads/x.docx")
    with pytest.raises(StorageError):
        store.get("uploads/x.docx")
