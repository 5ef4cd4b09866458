"""Generated Word documents for the benchmarks: realistic mixes of headings, body, tables and lists."""
from __future__ import annotations

import io
import random

import docx

WORDS = ("seller account verification refund customer impact escalation review evidence policy enforcement "
         "timeline appeal funds outreach risk investigation decision process control audit").split()


def sentence(rng: random.Random, words: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def long_docx(paragraphs: int = 17_000, seed: int = 7) -> bytes:
    """~34 paragraphs a page: headings of three kinds (style, typed numbering, bold line), body,
    list items and a table every few pages."""
    rng = random.Random(seed)
    document = docx.Document()
    count, chapter = 0, 0
    while count < paragraphs:
        chapter += 1
        document.add_heading(f"Chapter {chapter} review", 1)
        count += 1
        for sub in range(1, 4):
            document.add_paragraph(f"{chapter}.{sub} Findings part {sub}")
            count += 1
            for _ in range(8):
                document.add_paragraph(sentence(rng, rng.randint(12, 40)))
                count += 1
            run = document.add_paragraph().add_run(f"Key facts {chapter}.{sub}")
            run.bold = True
            count += 1
            for _ in range(3):
                document.add_paragraph(sentence(rng, 10), style="List Bullet")
                count += 1
        if chapter % 3 == 0:
            table = document.add_table(rows=4, cols=3)
            for row in table.rows:
                for cell in row.cells:
                    cell.text = sentence(rng, 3)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pages_docx(pages: int = 20, seed: int = 11) -> bytes:
    return long_docx(paragraphs=pages * 34, seed=seed)
