"""Property: whatever a reviewer does, in any order (upload, analyse, decide, edit, add custom
feedback, merge, split, rename, change level, re-analyse, export), no decided item is ever hidden or
shown twice, quotes are verified exactly where the text holds them, statistics agree with the
items and an export holds exactly the accepted and custom items, each on its quote.

Runs on the real PostgreSQL and Redis of the fixtures, through the HTTP API, with the offline
reviewer's analyses and the exports run in-process. Examples are derandomised by default (the same
25 sequences every run, so the suite cannot flake); HYPOTHESIS_PROFILE=explore draws new ones.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app import create_app
from app.auth import service as accounts
from app.extensions import db
from app.models import Base
from tests.conftest import PASSWORD, _clean, app_config
from tests.review.reviewing import UNLIMITED, Reviewer, check_export, check_items, check_stats

settings.register_profile("state", max_examples=25, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("explore", max_examples=200, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "state")

pick = st.integers(min_value=0, max_value=99)
OPERATIONS = st.one_of(
    st.tuples(st.just("upload")),
    st.tuples(st.just("analyse"), pick, st.booleans()),  # one section, or (True) all of them
    st.tuples(st.just("decide"), pick, st.sampled_from(["accept", "reject", "revert"])),
    st.tuples(st.just("edit"), pick),
    st.tuples(st.just("custom"), pick, pick, st.integers(min_value=4, max_value=40)),
    st.tuples(st.just("merge"), pick),
    st.tuples(st.just("split"), pick, st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("rename"), pick),
    st.tuples(st.just("level"), pick, st.integers(min_value=1, max_value=9)),
    st.tuples(st.just("export"), st.booleans()),
)


@pytest.fixture
def state_app(database_url, redis_url, tmp_path):
    application = create_app(app_config(database_url, redis_url, tmp_path, **UNLIMITED))
    yield application
    _clean(application, redis_url)


def _fresh(app, redis_url) -> Reviewer:
    """An empty database and Redis and one signed-in reviewer: each example starts from nothing."""
    app.extensions["model_chain"].flush()  # the model calls of the last example are written before the tables are emptied
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
        accounts.create_user(db.session, "prop@example.com", PASSWORD, "reviewer")
        db.session.commit()
        db.session.remove()
    app.extensions["redis"].flushdb()
    return Reviewer(app, "prop@example.com")


class Run:
    """The operations, and what the reviewer expects to see: the decided items and their status."""

    def __init__(self, reviewer: Reviewer):
        self.reviewer = reviewer
        self.documents: list[int] = []
        self.decided: dict[int, dict[int, str]] = {}  # document → item → status
        self.edited: set[int] = set()
        self.upload()

    def upload(self):
        document = self.reviewer.upload()
        self.documents.append(document["id"])
        self.decided[document["id"]] = {}

    def _decided(self, item: dict) -> bool:
        """The test's own model of a decided item, not the API's word for it."""
        return item["status"] != "pending" or item["source"] == "custom" or item["id"] in self.edited

    def _document(self, n: int) -> int:
        return self.documents[n % len(self.documents)]

    def _section(self, document_id: int, n: int) -> dict:
        sections = self.reviewer.sections(document_id)
        return sections[n % len(sections)]

    def _item(self, n: int):
        items = [(d, i) for d in self.documents for i in self.reviewer.items(d)]
        return items[n % len(items)] if items else (None, None)

    def apply(self, op: tuple) -> None:
        kind, args = op[0], op[1:]
        getattr(self, f"do_{kind}")(*args)

    def do_upload(self):
        if len(self.documents) < 3:
            self.upload()

    def do_analyse(self, n: int, everything: bool):
        document_id = self._document(n)
        before = self.reviewer.items(document_id)
        section = self._section(document_id, n)
        targets = None if everything else [section["id"]]
        self.reviewer.analyse(document_id, targets)
        after = {i["id"] for i in self.reviewer.items(document_id)}
        for item in before:  # only the analysed sections' undecided AI items are replaced
            replaced = not self._decided(item) and (everything or item["section_id"] == section["id"])
            assert (item["id"] not in after) == replaced, item

    def do_decide(self, n: int, decision: str):
        document_id, item = self._item(n)
        if item is None:
            return
        changed = self.reviewer.decide(item, decision)
        if self._decided(changed):
            self.decided[document_id][item["id"]] = changed["status"]
        else:
            self.decided[document_id].pop(item["id"], None)

    def do_edit(self, n: int):
        document_id, item = self._item(n)
        if item is not None:
            changed = self.reviewer.edit(item, description=f"Reworded by the reviewer ({n}).")
            self.edited.add(item["id"])
            self.decided[document_id][item["id"]] = changed["status"]

    def do_custom(self, n: int, line: int, length: int):
        document_id = self._document(n)
        section = self._section(document_id, n)
        lines = [t for t in section["text"].split("\n") if t.strip()]
        quote = None
        if lines and line % 3:  # a third of them without a quote
            chosen = lines[line % len(lines)]
            quote = chosen[: max(length, 1)].strip() or None
        item = self.reviewer.custom(document_id, section["id"], f"Reviewer note {n}-{line}", quote)
        self.decided[document_id][item["id"]] = item["status"]

    def _edit_section(self, document_id: int, section_id: int, body: dict) -> None:
        before = {i["id"] for i in self.reviewer.items(document_id)}
        self.reviewer.edit_section(document_id, section_id, body, expect=(200, 422))
        assert {i["id"] for i in self.reviewer.items(document_id)} == before, "a section edit keeps every item"

    def do_merge(self, n: int):
        document_id = self._document(n)
        self._edit_section(document_id, self._section(document_id, n)["id"], {"action": "merge_next"})

    def do_split(self, n: int, at: int):
        document_id = self._document(n)
        self._edit_section(document_id, self._section(document_id, n)["id"], {"action": "split", "at": at})

    def do_rename(self, n: int):
        document_id = self._document(n)
        self._edit_section(document_id, self._section(document_id, n)["id"], {"title": f"Renamed {n}"})

    def do_level(self, n: int, level: int):
        document_id = self._document(n)
        self._edit_section(document_id, self._section(document_id, n)["id"], {"level": level})

    def do_export(self, include_all: bool):
        for document_id in self.documents:
            items = self.reviewer.items(document_id)
            check_export(self.reviewer.export(document_id, include_all), items, self.reviewer.sections(document_id), include_all)

    def check(self) -> None:
        total = 0
        for document_id in self.documents:
            items, sections = self.reviewer.items(document_id), self.reviewer.sections(document_id)
            check_items(items, sections, self.decided[document_id])
            check_stats(self.reviewer.stats(document_id), items)
            total += len(items)
        assert self.reviewer._send("get", "/api/stats")["items"] == total


def test_no_sequence_of_review_operations_hides_or_duplicates_decided_work(state_app, redis_url):
    @settings(settings.get_profile(PROFILE))
    @given(operations=st.lists(OPERATIONS, min_size=1, max_size=10))
    def run(operations):
        review = Run(_fresh(state_app, redis_url))
        for op in operations:
            review.apply(op)
            review.check()
        review.do_export(False)

    run()
