"""The browser end-to-end stack: a real gunicorn (gevent workers), a real RQ worker process, the fake
Bedrock server, real PostgreSQL and Redis, and Debian's Chromium driven by Python Playwright.

Chromium comes from the system package (``apt-get install chromium``): Playwright's own browser
download is not used. Without /usr/bin/chromium these tests fail with a message saying so."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import _clean, app_config
from tests.fakes.bedrock import FakeBedrock
from tests.support.prompts import section_text_of
from tests.support.processes import BIN, ROOT, Gunicorn, process_env, stop_processes

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHAIN = json.dumps([{"id": "fake-primary", "rpm": 1000, "cooldown_s": 1}, {"id": "fake-secondary", "rpm": 1000, "cooldown_s": 2}])
HOSTILE = '<script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = \'img\'">'
CHAT_REPLY = ("**Risk**: the owner is not named.\n\n- Name the team\n- Give a date\n\n"
              f"{HOSTILE} ![tracker](http://127.0.0.1:9/pixel.png) [docs](javascript:alert(1))")


def _section_text(body: dict) -> str:
    return section_text_of(body)


def responder(model_id: str, body: dict) -> str:
    """Analysis: two grounded items quoting the section (one with HTML in its words) and one whose
    quote is invented. Chat: Markdown with raw HTML and script that must show as text."""
    if "\n\nQuestion: " in body["messages"][-1]["content"][0]["text"]:
        return CHAT_REPLY
    if len(body["messages"]) > 1:
        return json.dumps({"feedback_items": []})
    words = _section_text(body).split()
    return json.dumps({"feedback_items": [
        {"type": "important", "category": "Ownership", "description": "Say who owns the fix.", "suggestion": "Name the team and a date.",
         "example": "The payments team fixes it by 1 May.", "questions": ["Who owns it?"], "hawkeye_refs": [11, 12],
         "risk_level": "High", "confidence": 0.9, "quote": " ".join(words[:5])},
        {"type": "suggestion", "category": "Evidence", "description": f"Cite the ticket {HOSTILE}", "hawkeye_refs": [13],
         "risk_level": "Low", "confidence": 0.7, "quote": " ".join(words[-4:])},
        {"type": "suggestion", "category": "Clarity", "description": "An item whose quote is not in the text.",
         "hawkeye_refs": [17], "risk_level": "Medium", "confidence": 0.6, "quote": "words that are not in the section"},
    ]})


class Stack:
    def __init__(self, url: str, fake: FakeBedrock, database_url: str, redis_url: str):
        self.url, self.fake, self.database_url, self.redis_url = url, fake, database_url, redis_url


@pytest.fixture(scope="module")
def stack(database_url, redis_url, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium chromium-driver (see .ci/run)")
    tmp = tmp_path_factory.mktemp("e2e")
    cleaner = create_app(app_config(database_url, redis_url, tmp))
    _clean(cleaner, redis_url)  # no accounts: the journey starts at first-run setup
    fake = FakeBedrock().start()
    fake.responder = responder
    env = process_env(database_url, redis_url, str(tmp / "storage"), MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=fake.url,
                      BEDROCK_MODEL_CHAIN=CHAIN, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      BEDROCK_READ_TIMEOUT="20", LOGIN_ADDRESS_FAILURE_LIMIT="1000/minute")
    web = Gunicorn(env, workers=2, log_path=tmp / "gunicorn.log")
    worker = subprocess.Popen([str(BIN / "flask"), "--app", "application", "worker"], cwd=ROOT, env=env,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT)
    try:
        web.wait_ready()
        yield Stack(web.url, fake, database_url, redis_url)
    finally:
        stop_processes(worker, timeout=20)
        web.stop()
        fake.stop()
        _clean(cleaner, redis_url)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


# The app serves every page with its Content-Security-Policy (app/security.py), so an inline script,
# inline style or foreign origin in the UI shows up as a console error and fails the test. The watcher
# below also fails a test when a page is served without that policy, or when the page asks any other
# origin for anything (a Markdown image in a model reply pointing elsewhere, say).
def _watch(page, errors, origin: str) -> None:
    def on_request(request):
        if not request.url.startswith((origin, "data:", "blob:")):
            errors.append(f"request to another origin: {request.url}")

    def on_response(response):
        if response.request.resource_type == "document" and response.url.startswith(origin):
            if "default-src 'self'" not in (response.headers.get("content-security-policy") or ""):
                errors.append(f"page served without the CSP: {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)


class PageErrors(list):
    """JavaScript errors and dialogs seen by a page; a test ends by asserting there were none."""


@pytest.fixture
def new_page(browser, stack, request):
    """new_page(width=1280, tour=False) → (page, errors). Every page's screenshots go under artifacts/e2e/."""
    contexts = []

    def make(width: int = 1280, height: int = 900, tour: bool = False, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                      base_url=stack.url, **options)
        contexts.append(context)
        if not tour:  # the first-run tour is its own test's business; elsewhere it is dismissed already
            context.add_init_script("localStorage.setItem('ai-prism:tour-dismissed', 'e2e')")
        page = context.new_page()
        errors = PageErrors()
        _watch(page, errors, stack.url)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.set_default_timeout(15_000)
        return page, errors

    yield make
    for context in contexts:
        context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
