"""Fingerprinted static assets: every file under app/static gets a content-hashed name, computed once
at start, so browsers (and a CDN in front, STATIC_BASE_URL) may cache it for a year.

ES modules import each other by relative path (``import { api } from "./api.js"``). Those imports
are rewritten to the hashed names too, so a change to api.js changes the URL of every module that
imports it, and nothing stale is ever served from a cache. Written here rather than taken from a
bundler because the app ships plain modules with no build step; the whole job is a few lines.
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, current_app, request

IMMUTABLE = "public, max-age=31536000, immutable"
# `from "./x.js"`, `import "./x.js"` and `import("./x.js")`, relative specifiers only.
_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}/[^"'\s]+\.js)\2""")


@dataclass(frozen=True)
class Asset:
    path: str  # "js/api.js"
    hashed_path: str  # "js/api.0123456789.js"
    data: bytes
    mimetype: str
    etag: str


class AssetManifest:
    """Every static file by its plain path and by its hashed path."""

    def __init__(self, root: Path):
        self.root = root
        self.by_path: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        self._raw = {p.relative_to(root).as_posix(): p.read_bytes() for p in files}
        for path in self._raw:
            self._build(path, ())

    def _build(self, path: str, chain: tuple[str, ...]) -> Asset:
        if path in self.by_path:
            return self.by_path[path]
        if path in chain:
            raise ValueError(f"import cycle among static modules: {' -> '.join(chain + (path,))}")
        data = self._raw[path]
        if path.endswith(".js"):
            data = self._rewrite_imports(path, data.decode("utf-8"), chain + (path,)).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()[:12]
        stem, dot, ext = path.rpartition(".")
        hashed = f"{stem}.{digest}.{ext}" if dot else f"{path}.{digest}"
        mimetype = "text/javascript" if ext == "js" else (mimetypes.guess_type(path)[0] or "application/octet-stream")
        asset = Asset(path, hashed, data, mimetype, digest)
        self.by_path[path] = self.by_hashed[hashed] = asset
        return asset

    def _rewrite_imports(self, path: str, source: str, chain: tuple[str, ...]) -> str:
        folder = Path(path).parent

        def replace(match: re.Match) -> str:
            resolved = _normalise(f"{folder.as_posix()}/{match.group(3)}")
            if resolved not in self._raw:
                raise ValueError(f"{path} imports {match.group(3)}, which is not a static file")
            hashed = self._build(resolved, chain).hashed_path
            relative = _relative(str(folder), hashed)
            return f"{match.group(1)}{match.group(2)}{relative}{match.group(2)}"

        return _IMPORT.sub(replace, source)

    def url_path(self, path: str) -> str:
        asset = self.by_path.get(path)
        if asset is None:
            raise KeyError(f"no static file {path!r}")
        return f"/static/{asset.hashed_path}"


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _relative(folder: str, target: str) -> str:
    base = [p for p in folder.split("/") if p and p != "."]
    parts = target.split("/")
    common = 0
    while common < len(base) and common < len(parts) - 1 and base[common] == parts[common]:
        common += 1
    ups = len(base) - common
    return ("./" if ups == 0 else "../" * ups) + "/".join(parts[common:])


def asset_url(path: str) -> str:
    """The cacheable URL of a static file, under STATIC_BASE_URL when one is set."""
    manifest: AssetManifest = current_app.extensions["assets"]
    base = (current_app.config.get("STATIC_BASE_URL") or "").rstrip("/")
    return base + manifest.url_path(path)


def serve(filename: str):
    manifest: AssetManifest = current_app.extensions["assets"]
    asset = manifest.by_hashed.get(filename)
    immutable = asset is not None
    if asset is None:
        asset = manifest.by_path.get(filename)
    if asset is None:
        abort(404)
    response = Response(asset.data, mimetype=asset.mimetype)
    response.set_etag(asset.etag)
    # A plain name may change at the next deploy: revalidate. A hashed name never changes.
    response.headers["Cache-Control"] = IMMUTABLE if immutable else "no-cache"
    if asset.mimetype == "text/javascript" or asset.mimetype == "text/css":
        response.headers["Access-Control-Allow-Origin"] = "*"  # module scripts served from a CDN origin
    return response.make_conditional(request)


def init_assets(app: Flask) -> None:
    app.extensions["assets"] = AssetManifest(Path(app.root_path) / "static")
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=serve)
    app.jinja_env.globals["asset_url"] = asset_url
