"""The revision check on two 100-page versions: v2 has 5% of v1's body paragraphs changed (a sentence
rewritten or deleted). Real PostgreSQL and Redis, the fake Bedrock in process with its simulator.
Prints JSON: alignment time (the pure computation, and the whole first-run preparation with its rows),
model calls against aligned sections with changed quoted items, and whether every quote was located
where the edit put it.

    python -m bench.revision [--pages 100] [--changed 0.05] [--items 300]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SYLLABLES = "ka lo mi ne ru ta se vi do pa ge lu fo ri ma zen tor bel cas dun".split()


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)]


def _sentence(rng, words) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(8, 20))).capitalize() + "."


def versions(pages: int, changed: float, seed: int = 5):
    """(v1 sections, v2 sections, edits): sections as [(title, [paragraph, ...])]; edits maps
    (section, paragraph) → ("rewrite"|"delete", sentence index, new sentence)."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    paragraphs = pages * 34
    v1, count = [], 0
    while count < paragraphs:
        body = [" ".join(_sentence(rng, words) for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(6, 14))]
        v1.append((f"Part {len(v1) + 1}: {_sentence(rng, words)[:40].strip()}", body))
        count += len(body) + 1
    places = [(s, p) for s, (_, body) in enumerate(v1) for p in range(len(body))]
    edits = {}
    for s, p in rng.sample(places, int(len(places) * changed)):
        sentences = v1[s][1][p].split(". ")
        k = rng.randrange(len(sentences))
        # a rewrite keeps about half of the sentence's words, as a reviser does
        kept = sentences[k].rstrip(".").split()[::2]
        rewrite = " ".join(kept + _sentence(rng, words).rstrip(".").lower().split()[:6]).capitalize()
        edits[s, p] = ("delete" if rng.random() < 0.3 and len(sentences) > 1 else "rewrite", k, rewrite)
    v2 = []
    for s, (title, body) in enumerate(v1):
        new_body = []
        for p, text in enumerate(body):
            if (s, p) in edits:
                kind, k, replacement = edits[s, p]
                sentences = text.split(". ")
                if kind == "delete":
                    del sentences[k]
                else:
                    sentences[k] = replacement if k + 1 < len(sentences) else replacement + "."
                text = ". ".join(sentences)
                if not text.endswith("."):
                    text += "."
            new_body.append(text)
        v2.append((title, new_body))
    return v1, v2, edits


def build(sections) -> bytes:
    import docx

    document = docx.Document()
    for title, body in sections:
        document.add_heading(title, 1)
        for text in body:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", 14)))
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

    from sqlalchemy import select

    from app import create_app
    from app.documents.service import Upload, create_document
    from app.extensions import db
    from app.models import Analysis, FeedbackItem, RevisionCheck, RevisionItem, User
    from app.review import alignment, revision, state
    from app.review.schema import Item
    from app.storage import storage
    from bench.harness import bench_environment
    from tests.fakes.bedrock import FakeBedrock

    v1_sections, v2_sections, edits = versions(args.pages, args.changed)
    fake = FakeBedrock().start()
    chain = json.dumps([{"id": "bench-model", "rpm": 100000, "tpm": 10**9, "cooldown_s": 1}])
    with bench_environment(args.redis_db) as env:
        app = create_app({"DATABASE_URL": env.database_url, "REDIS_URL": env.redis_url, "SECRET_KEY": "bench",
                          "LOCAL_STORAGE_DIR": env.storage_dir, "MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": fake.url,
                          "BEDROCK_MODEL_CHAIN": chain, "MAX_SECTIONS": 2000})
        with app.app_context():
            user = db.session.scalars(select(User)).first()
            v1 = create_document(db.session, storage(), user, Upload("v1.docx", build(v1_sections)))
            # accepted items quoting one sentence each: every edited paragraph's touched sentence, then others
            rng = random.Random(9)
            by_title = {s.title: s for s in v1.sections}
            quotes = []
            for (s, p), (kind, k, _) in edits.items():
                quotes.append((s, p, k, kind))
            others = [(s, p) for s, (_, body) in enumerate(v1_sections) for p in range(len(body)) if (s, p) not in edits]
            for s, p in rng.sample(others, max(0, args.items - len(quotes))):
                quotes.append((s, p, 0, "unchanged"))
            expected, per_section = {}, {}
            for s, p, k, kind in quotes:
                section = by_title[v1_sections[s][0]]
                sentence = v1_sections[s][1][p].split(". ")[k].rstrip(".")
                if (section.id, sentence) not in expected:
                    per_section.setdefault(section.id, []).append(sentence)
                expected[(section.id, sentence)] = kind
            for section in v1.sections:  # one analysis per section, as the review records them
                if section.id not in per_section:
                    continue
                analysis = Analysis(document_id=v1.id, section_id=section.id, status="completed")
                db.session.add(analysis)
                db.session.flush()
                found = [Item(type="important", category="Evidence", description=f"Say who did it ({n}).", risk_level="Low",
                              confidence=0.8, quote=sentence) for n, sentence in enumerate(per_section[section.id])]
                state.record_analysis(db.session, analysis, section, found, "ai", "bench")
            db.session.commit()
            for item in db.session.scalars(select(FeedbackItem).where(FeedbackItem.document_id == v1.id)):
                item.status = "accepted"
            db.session.commit()
            v2 = create_document(db.session, storage(), user, Upload("v2.docx", build(v2_sections)), previous=v1)

            old = [(s.title, s.text) for s in v1.sections]
            new = [(s.title, s.text) for s in v2.sections]
            items = state.export_items(db.session, v1.id, include_all=False)
            index_of = {s.id: k for k, s in enumerate(v1.sections)}
            started = time.perf_counter()
            result = alignment.align(old, new)
            for i in items:
                alignment.locate(result, old, new, index_of[i.section_id], i.quote_start, i.quote_end, i.quote)
            align_s = time.perf_counter() - started

            check = RevisionCheck(document_id=v2.id, previous_id=v1.id, requested_by=user.id)
            db.session.add(check)
            db.session.commit()
            started = time.perf_counter()
            state.revisions.prepare(db.session, check)
            prepare_s = time.perf_counter() - started
            fake.reset()
            started = time.perf_counter()
            status = revision.run_check(db.session, app.extensions["redis"], app.extensions["model_chain"], check.id)
            check_s = time.perf_counter() - started
            rows = db.session.execute(select(RevisionItem, FeedbackItem).join(FeedbackItem, FeedbackItem.id == RevisionItem.item_id)
                                      .where(RevisionItem.check_id == check.id)).all()
            want = {"unchanged": ("exact", "moved"), "rewrite": ("changed",), "delete": ("gone",)}
            wrong = [(expected[(item.section_id, item.quote)], row.location, item.quote[:60]) for row, item in rows
                     if row.location not in want[expected[(item.section_id, item.quote)]]]
            right = len(rows) - len(wrong)
            changed_groups = {row.group_index for row, _ in rows if row.location in ("changed", "gone")}
            calls = sum(s["calls"] for s in fake.snapshot().values())
            groups = db.session.get(RevisionCheck, check.id).alignment["groups"]
            print(json.dumps({
                "pages": args.pages, "v1_paragraphs": sum(len(b) for _, b in v1_sections), "sections": [len(old), len(new)],
                "paragraphs_changed": len(edits), "items": len(rows),
                "alignment_s": round(align_s, 3), "prepare_with_rows_s": round(prepare_s, 3), "check_s": round(check_s, 3),
                "check_state": status, "aligned_groups": len(groups),
                "groups_same_one_to_one": sum(1 for g in groups if len(g["v1"]) == 1 == len(g["v2"])),
                "model_calls": calls, "aligned_sections_with_changed_quoted_items": len(changed_groups),
                "quotes_located": sum(1 for row, _ in rows if row.location != "unquoted"),
                "quotes_located_where_the_edit_put_them": right, "misplaced": wrong[:10],
                "locations": {loc: sum(1 for row, _ in rows if row.location == loc) for loc in ("exact", "moved", "changed", "gone", "unquoted")},
                "statuses": state.revisions.summary([row for row, _ in rows]),
                "ok": align_s <= 1.0 and calls == len(changed_groups) and right == len(rows) and status == "completed",
                "postgres": env.postgres_kind, "redis": env.redis_kind,
            }, indent=1))
            app.extensions["database"].dispose()
    fake.stop()


if __name__ == "__main__":
    main()
