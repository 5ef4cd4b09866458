"""The upload attack corpus (tests/documents/attacks.py) through the HTTP API: each file refused with
its own status and code, nothing stored, and the server goes on serving."""
import pytest

from app.models import Document, Section
from tests.documents import attacks, corpus
from tests.documents.test_upload_api import count, stored_files, upload


@pytest.mark.parametrize("attack", sorted(attacks.ATTACKS))
def test_attack_corpus_is_refused_nothing_stored_server_keeps_serving(signed_in, app, attack):
    builder, status, code = attacks.ATTACKS[attack]
    name, data = builder()
    response = upload(signed_in, name, data)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and len(error["message"]) > 10
    assert stored_files(app) == []
    assert count(app, Document) == 0 and count(app, Section) == 0
    good = upload(signed_in, "fine.docx", corpus.heading_styles()[0])
    assert good.status_code == 201
