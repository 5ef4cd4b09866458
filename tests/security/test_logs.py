"""Secrets and document text never reach the logs: passwords, session cookies, CSRF and Bearer tokens,
document contents and chat messages are absent from every log line written while they pass through."""
import logging

from tests.conftest import PASSWORD
from tests.documents.corpus import headed_sections
from tests.security.conftest import signed_in_client, upload

SECRET_TEXT = "Project Nightjar paid the informant 40,000 in cash"
CHAT_TEXT = "Who authorised the Nightjar payment?"


def test_passwords_tokens_and_document_text_stay_out_of_the_logs(app, make_user, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    make_user("ann@example.com")
    ann = signed_in_client(app, "ann@example.com")
    ann.post("/api/auth/login", json={"email": "ann@example.com", "password": "a wrong password 42"}, headers={"X-CSRFToken": ann.csrf})
    document = upload(ann, "nightjar.docx", headed_sections(1, lambda i: SECRET_TEXT)).get_json()
    ann.post(f"/api/documents/{document['id']}/chat", json={"message": CHAT_TEXT}, headers={"X-CSRFToken": ann.csrf, "Accept": "application/json"})
    token = ann.post("/api/auth/tokens", json={"name": "script"}, headers={"X-CSRFToken": ann.csrf}).get_json()["token"]
    ann.get("/api/documents", headers={"Authorization": f"Bearer {token}"})
    ann.get("/api/nope")  # an error path logs too
    cookie = ann.get_cookie("ai-prism").value
    written = caplog.text + "".join(capfd.readouterr())
    assert written, "the requests were logged"
    for secret in (PASSWORD, "a wrong password 42", cookie, ann.csrf, token, SECRET_TEXT, "Nightjar"):
        assert secret not in written, f"{secret[:12]}... was written to the log"
