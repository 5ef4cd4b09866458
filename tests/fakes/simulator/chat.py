"""The chat responder: an answer built from the document's own sentences. It quotes the sentences of
the chat context (the current section's text and the quotes of its feedback, or every section's text for a question about
the whole document) that share the most
words with the question, and says what each contains, by the same rules as the review."""
from __future__ import annotations

import random
import re

from .feedback import rule_for
from .prompt import Prompt
from .sentences import sentences

CONTEXT_LABEL = "Document and review"
_OURS = re.compile(r"^(?:Document: |Risk score: |Sections: |Current section: |Section \u201c.*\u201d:$|- \[(?:critical|important|suggestion|positive), )")
_ITEM_QUOTE = re.compile(r"\(quote: \u201c(.+?)\u201d; suggestion: ")
_WORDS = re.compile(r"[a-z0-9]{3,}")
CITED = 2


def document_sentences(context: str) -> list[str]:
    """Sentences of the document in the chat context: the lines the app wrote (the document's title,
    risk score, section list, feedback lines) are left out, but the quotes inside feedback lines kept."""
    kept = [line for line in context.split("\n") if not _OURS.match(line)]
    found = [s.text for s in sentences("\n".join(kept))]
    found += [q for q in _ITEM_QUOTE.findall(context) if q.strip()]
    return list(dict.fromkeys(found))


def answer(prompt: Prompt, rng: random.Random, settings=None) -> str:
    context = prompt.block(CONTEXT_LABEL) or ""
    candidates = document_sentences(context)
    question = prompt.question or ""
    if not candidates:
        return ("The document text is not in what I was given for this question, so I cannot quote it. "
                "Select a section and ask again.\n\n_(Simulated reply from the Bedrock simulator.)_")
    asked = set(_WORDS.findall(question.lower()))
    scored = sorted(candidates, key=lambda s: (-len(asked & set(_WORDS.findall(s.lower()))), rng.random()))
    lines = ["Here is what the document says that bears on your question:", ""]
    for text in scored[:CITED]:
        found = sentences(text)
        _, rule = rule_for(found[0]) if found else (None, None)
        lines.append(f"> \u201c{text}\u201d")
        lines.append("")
        if rule is not None:
            points = ", ".join(str(r) for r in rule.refs)
            lines.append(f"{rule.description.format_map(_Words(found[0].found))} {rule.suggestion} (Hawkeye {points})")
            lines.append("")
    lines.append("_(Simulated reply from the Bedrock simulator: it quotes the document and applies pattern rules; "
                 "it does not reason about your question.)_")
    return "\n".join(lines)


class _Words(dict):
    def __missing__(self, key):
        return "this"
