"""Object storage: S3 (server-side encrypted) in production, a local folder as the embedded default.

Both backends share one interface; keys are always made by the server (see ``upload_key``).
"""
from __future__ import annotations

import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str, max_length: int = 100) -> str:
    """A file name reduced to letters, digits, dot, dash and underscore; never empty, never hidden."""
    base = os.path.basename((filename or "").replace("\\", "/"))
    cleaned = _UNSAFE.sub("_", base).strip("._") or "file"
    if len(cleaned) > max_length:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: max_length - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else cleaned[:max_length]
    return cleaned


def upload_key(user_id: int, filename: str, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"uploads/{now:%Y/%m/%d}/user-{user_id}-{uuid.uuid4().hex}-{safe_name(filename)}"


class StorageError(RuntimeError):
    pass


class LocalStorage:
    """Objects as files under one root folder; keys can never escape it."""

    kind = "local"

    def __init__(self, root: str):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise StorageError(f"key escapes the storage root: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", metadata: dict | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)  # readers never see a half-written object

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"no object {key!r}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str, filename: str, expires_s: int = 900) -> str | None:
        """None: local files are served by the app itself."""
        return None

    def check(self) -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".health-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        return {"backend": "local", "path": str(self.root)}


class S3Storage:
    """Objects in one S3 bucket under an optional prefix, always with SSE (AES256)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", region: str | None = None, endpoint_url: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client(
            "s3", region_name=region, endpoint_url=endpoint_url,
            config=Config(connect_timeout=3, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}),
        )
        self._probe_client = boto3.client(
            "s3", region_name=region, endpoint_url=endpoint_url,
            config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", metadata: dict | None = None) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type,
            ServerSideEncryption="AES256", Metadata={k: str(v) for k, v in (metadata or {}).items()},
        )

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise StorageError(f"no object {key!r}") from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str, filename: str, expires_s: int = 900) -> str:
        """A presigned download link, valid ``expires_s`` seconds, that saves under ``filename``."""
        safe = filename.replace('"', "")
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires_s,
            Params={"Bucket": self.bucket, "Key": self._key(key), "ResponseContentDisposition": f'attachment; filename="{safe}"'},
        )

    def check(self) -> dict:
        self._probe_client.head_bucket(Bucket=self.bucket)
        return {"backend": "s3", "bucket": self.bucket}


def init_storage(app: Flask) -> None:
    bucket = app.config["S3_BUCKET_NAME"]
    if bucket:
        app.extensions["storage"] = S3Storage(
            bucket, app.config["S3_PREFIX"], app.config["AWS_REGION"], app.config.get("S3_ENDPOINT_URL")
        )
    else:
        app.extensions["storage"] = LocalStorage(app.config["LOCAL_STORAGE_DIR"])


def storage():
    return current_app.extensions["storage"]
