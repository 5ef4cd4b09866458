"""Locust users for AI-Prism. `make loadtest` runs them (see bench/loadtest.py); against another
deployment: `locust -f bench/locustfile.py --host https://… ` with LOADTEST_EMAIL_PATTERN and
LOADTEST_PASSWORD naming accounts that exist there.

Reviewer: signs in once, then repeats a review: open the dashboard, upload a small .docx, analyse
it, poll its status until every section settled, read the feedback, ask the chat one question,
export and poll the export. A person reads between steps (LOADTEST_THINK_S, default 3-8 s).
Request names group by kind, so the figures come out per kind: page, api read, upload, status poll…

Probe users (user classes picked with the command line) hammer one endpoint with no pause, for the
throughput comparison with a bare Flask hello app.
"""
from __future__ import annotations

import itertools
import os
import time

from locust import FastHttpUser, between, constant, task

EMAIL_PATTERN = os.environ.get("LOADTEST_EMAIL_PATTERN", "loadtest-{n}@example.com")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "load test password 123")
USERS = int(os.environ.get("LOADTEST_USERS", "200"))
THINK = tuple(float(x) for x in os.environ.get("LOADTEST_THINK_S", "3,8").split(","))
POLL_S = float(os.environ.get("LOADTEST_POLL_S", "2"))
POLL_LIMIT_S = float(os.environ.get("LOADTEST_POLL_LIMIT_S", "90"))
DOCX_PATH = os.environ.get("LOADTEST_DOCX", "")
_numbers = itertools.count()


def small_docx() -> bytes:
    if DOCX_PATH:
        with open(DOCX_PATH, "rb") as handle:
            return handle.read()
    import io

    import docx

    document = docx.Document()
    for title, body in (("Summary", "The seller shipped late and several customers waited weeks for refunds."),
                        ("Root cause", "The carrier integration failed silently for three days in March.")):
        document.add_heading(title, 1)
        document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


DOCX = small_docx()
# FastHttpUser sends bytes, not `files=`: the multipart body is made once with urllib3.
from urllib3 import encode_multipart_formdata  # noqa: E402

UPLOAD_BODY, UPLOAD_TYPE = encode_multipart_formdata({"file": ("review.docx", DOCX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document")})


class SignedIn(FastHttpUser):
    abstract = True

    def sign_in(self) -> None:
        n = next(_numbers) % USERS
        token = self.client.get("/api/auth/csrf", name="auth: csrf").json()["csrf_token"]
        response = self.client.post("/api/auth/login", json={"email": EMAIL_PATTERN.format(n=n), "password": PASSWORD},
                                    headers={"X-CSRFToken": token}, name="auth: sign in")
        self.csrf = response.json()["csrf_token"]

    def post(self, path, name, **kwargs):
        headers = {"X-CSRFToken": self.csrf, **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, name=name, **kwargs)


class Reviewer(SignedIn):
    wait_time = between(*THINK)

    def on_start(self):
        self.sign_in()

    def poll(self, path: str, done, name: str) -> dict:
        deadline = time.monotonic() + POLL_LIMIT_S
        while True:
            with self.client.get(path, name=name, catch_response=True) as response:
                body = response.json() if response.status_code == 200 else {}
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")
                    return body
                if done(body):
                    return body
                if time.monotonic() > deadline:
                    response.failure(f"not finished after {POLL_LIMIT_S:g} s: {body.get('status')}")
                    return body
            time.sleep(POLL_S)

    @task
    def review(self):
        self.client.get("/", name="page: dashboard")
        self.client.get("/api/documents", name="api read: documents")
        self.wait()
        with self.post("/api/documents", "upload: .docx", data=UPLOAD_BODY, headers={"Content-Type": UPLOAD_TYPE},
                       catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"status {response.status_code}")
                return
            document = response.json()
        document_id = document["id"]
        response = self.post(f"/api/documents/{document_id}/analyses", "analyse: start", json={})
        jobs = response.json().get("jobs", [])
        for job in jobs:
            self.poll(f"/api/jobs/{job['id']}", lambda b: b.get("status") in ("completed", "failed", "cancelled"), "status poll: job")
        self.client.get(f"/api/documents/{document_id}", name="api read: document")
        self.client.get(f"/api/documents/{document_id}/feedback", name="api read: feedback")
        self.wait()
        section_id = document["sections"][0]["id"] if document.get("sections") else None
        self.post(f"/api/documents/{document_id}/chat", "chat: reply (JSON)",
                  json={"message": "What is the biggest risk in this section?", "section_id": section_id},
                  headers={"Accept": "application/json"})
        self.wait()
        response = self.post(f"/api/documents/{document_id}/exports", "export: start", json={"formats": ["docx", "json", "csv"]})
        if response.status_code == 202:
            self.poll(f"/api/exports/{response.json()['id']}", lambda b: b.get("status") in ("completed", "failed"),
                      "status poll: export")


class StatusPoller(FastHttpUser):
    """No pause: how many status polls a second the web serves. Every client sends the session
    cookie of one sign-in made beforehand (LOADTEST_COOKIE), so no password hashing runs inside the
    measured window; the request takes the browser's path (cookie, session from Redis, user)."""

    wait_time = constant(0)

    def on_start(self):
        self.job_path = os.environ["LOADTEST_JOB_PATH"]
        self.cookie = os.environ["LOADTEST_COOKIE"]

    @task
    def poll(self):
        self.client.get(self.job_path, headers={"Cookie": self.cookie}, name="throughput: status poll")


class ReadinessProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def ready(self):
        self.client.get("/health/ready", name="throughput: /health/ready")


class Hello(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/", name="throughput: bare Flask hello")
