"""First run with the Bedrock simulator, started the way README says (`SIMULATE_BEDROCK=1 make run`,
on a fresh copy of the project, free ports, embedded defaults): in Chromium, the administrator is
created, a 10-section risk report is uploaded and analysed, every section ends analysed (none failed)
with feedback whose quote is found in its text, and a chat reply quotes a sentence of the document.
The first-run report this answers: all 10 sections failed ("The answer contains no JSON object") and
chat gave canned text."""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import time
from pathlib import Path

import docx
import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.integration.test_make_run import URL_LINE, Terminal, project_files
from tests.support.services import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("first.run@example.com", "simulated first run 17")

REPORT = [
    ("Executive Summary", "Between 03-Mar-2025 and 21-Mar-2025 refunds for marketplace orders were delayed. "
                          "Several customers complained to the contact centre. The total value held back was $12,400."),
    ("Background", "The refund queue moved to the Payments Operations team in January. "
                   "No runbook was handed over with it."),
    ("Timeline", "On 03-Mar-2025 the nightly refund batch stopped. On 10-Mar-2025 the first complaint reached us. "
                 "The batch was restarted on 21-Mar-2025."),
    ("Customer Impact", "214 customers waited more than 7 days for their money. "
                        "Some of them opened a second contact about the same refund."),
    ("Root Cause", "The batch failed because a certificate expired. There was no alarm on the age of the queue."),
    ("Seller Classification", "The affected sellers are classed as good actors. [NAME of reviewing analyst] confirmed this."),
    ("Actions", "Add an alarm on the age of the refund queue. Owner: Payments Operations; ECD: 30-Jun-2025. "
                "Renew certificates automatically."),
    ("Compliance", "The delay may breach the consumer refund regulation in two markets. Legal review is TBD."),
    ("Metrics", "We will track the share of refunds paid within 3 days, target 98%."),
    ("Lessons Learned", "Handing over a queue needs a named owner and a runbook on day one."),
]


def report_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Refund Delay Risk Report"
    for title, text in REPORT:
        document.add_heading(title, 1)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_simulated_first_run_reviews_every_section_with_grounded_feedback_and_chat_quotes_the_document(tmp_path, browser):
    copy = tmp_path / "ai-prism"
    for name in project_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    venv = Path(sys.executable).parent.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "SECRET_KEY", "APP_ENV", "LOG_FORMAT", "MODEL_PROVIDER")
           and not k.startswith(("AWS_", "BEDROCK_", "SIMULATOR_"))
           and k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    env.update({"SIMULATE_BEDROCK": "1", "PORT": str(port), "EMBEDDED_REDIS_PORT": str(free_port()),
                "SIMULATOR_PORT": str(free_port()), "WEB_CONCURRENCY": "2", "TERM": "dumb"})
    base = f"http://127.0.0.1:{port}"
    terminal = Terminal(["make", "run", f"VENV={venv}"], copy, env)
    context = None
    try:
        started = time.monotonic()
        while not any(URL_LINE in line for line in terminal.lines()):
            assert not terminal.exited() and time.monotonic() - started < 90, "\n".join(terminal.lines()[-40:])
            terminal.read(0.5)
        assert any("simulated Bedrock on port" in line for line in terminal.lines())
        health = requests.get(f"{base}/health/ready", timeout=5).json()
        assert health["model_provider"] == "bedrock", health

        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.set_default_timeout(20_000)

        # The first-run walkthrough of README: create the administrator, upload, Analyse all.
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/setup$"))
        page.get_by_label("Name").fill("First Runner")
        page.get_by_label("Email").fill(ADMIN[0])
        page.get_by_label("Password (at least 10 characters)").fill(ADMIN[1])
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Your documents")).to_be_visible()
        page.locator("#file-input").set_input_files({"name": "refund-delay.docx", "mimeType": "application/octet-stream",
                                                     "buffer": report_docx()})
        page.wait_for_url(re.compile(r"/documents/\d+$"))
        expect(page.locator("#review")).to_have_attribute("data-ready", "true")
        expect(page.locator("#section-list li")).to_have_count(len(REPORT))
        page.get_by_role("button", name="Analyse all").click()
        expect(page.locator("#analysis-progress-label")).to_have_text(
            re.compile(rf"Analysis finished: {len(REPORT)} of {len(REPORT)} sections analysed"), timeout=120_000)
        expect(page.locator("#analysis-progress-label")).not_to_contain_text("failed")
        expect(page.locator("#doc-status")).to_have_attribute("data-status", "completed", timeout=30_000)
        expect(page.locator("#doc-risk")).to_contain_text(re.compile(r"Risk score \d+"))
        shot(page, "simulated-first-run-analysed")

        # Every section: feedback quoting its own words, the quote marked in the text.
        for title, text in REPORT:
            page.locator("#section-list button", has_text=title).first.click()
            expect(page.locator("#section-title")).to_have_text(title)
            cards = page.locator("#feedback-list li.fb")
            expect(cards.first).to_be_visible()
            expect(page.locator("#feedback-list li.fb", has_text="found in the text").first).to_be_visible()
            expect(page.locator("#section-text mark.quote").first).to_be_visible()
            for mark in page.locator("#section-text mark.quote").all_text_contents():
                assert mark and mark in text, (title, mark)
        document_id = int(re.search(r"/documents/(\d+)", page.url).group(1))
        items = page.evaluate(f"fetch('/api/documents/{document_id}/feedback').then((r) => r.json())")["items"]
        by_section = {}
        for item in items:
            by_section.setdefault(item["section_id"], []).append(item)
        assert len(by_section) == len(REPORT)
        assert all(item["verified"] and item["quote"] for item in items)
        assert len({item["type"] for item in items}) >= 3 and len({item["risk_level"] for item in items}) >= 2
        print(f"{len(items)} items, types {sorted({i['type'] for i in items})}, risks {sorted({i['risk_level'] for i in items})}")

        # Chat about the whole document: the reply streams in and quotes one of its sentences.
        page.get_by_role("tab", name="Chat").click()
        page.get_by_label("Ask about this document").fill("How many customers waited for their refunds?")
        page.get_by_role("button", name="Send").click()
        reply = page.locator(".chat-msg.assistant").last
        expect(reply.locator("blockquote").first).to_be_visible(timeout=30_000)
        expect(reply).to_contain_text("Simulated reply")
        quoted = reply.locator("blockquote").first.inner_text().strip().strip("\u201c\u201d")
        assert any(quoted in text for _, text in REPORT), quoted
        assert quoted == "214 customers waited more than 7 days for their money."
        shot(page, "simulated-first-run-chat")
        assert not errors, errors
    finally:
        if context is not None:
            context.close()
        terminal.stop(copy)
    output = "\n".join(terminal.lines())
    assert terminal.status == 0 and "Traceback" not in output, output[-3000:]
