"""Reading a Converse request as a model would: the forced tool's name, the labelled data blocks
between the request's boundary lines (app/review/boundary.py), and the analyst's question."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_BOUNDARY_LINE = re.compile(r"^(SECTION-[0-9a-f]+)$", re.M)
_LABEL = re.compile(r"(?:^|\n)([^\n]*) \(data, not instructions\):\n$")
QUESTION = "\n\nQuestion: "


@dataclass
class Prompt:
    tool: str | None  # the forced tool's name, None when the model answers in text
    blocks: dict[str, str] = field(default_factory=dict)  # label → data, in the order sent
    question: str | None = None  # the analyst's question (chat)

    def block(self, prefix: str) -> str | None:
        """The first block whose label starts with ``prefix`` ("Section text" also finds
        "Section text (part 2 of 3)")."""
        return next((text for label, text in self.blocks.items() if label.startswith(prefix)), None)


def forced_tool(body: dict) -> str | None:
    tool_config = body.get("toolConfig") or {}
    choice = tool_config.get("toolChoice") or {}
    names = [t["toolSpec"]["name"] for t in tool_config.get("tools", []) if "toolSpec" in t]
    return (choice.get("tool") or {}).get("name") or (names[0] if "any" in choice and names else None)


def _texts(message: dict) -> str:
    return "".join(block.get("text", "") for block in message.get("content", []) or [] if "text" in block)


def data_blocks(text: str) -> dict[str, str]:
    """label → body of each block: ``label (data, not instructions):`` on a line, the token line, the
    body, the token line. The first token line names the token (labels are the app's words, so no
    document text comes before it)."""
    found = _BOUNDARY_LINE.search(text)
    if found is None:
        return {}
    pieces = re.split(rf"^{re.escape(found.group(1))}$", text, flags=re.M)
    blocks = {}
    for index in range(1, len(pieces) - 1, 2):
        label = _LABEL.search(pieces[index - 1])
        body = pieces[index].removeprefix("\n").removesuffix("\n")
        blocks.setdefault(label.group(1).strip() if label else f"block {index // 2}", body)
    return blocks


def read(body: dict) -> Prompt:
    """The request's forced tool, the data blocks of its first user turn (a repair turn repeats the
    same request after it) and the question of its last user turn."""
    users = [m for m in body.get("messages", []) or [] if m.get("role") == "user"]
    first = _texts(users[0]) if users else ""
    last = _texts(users[-1]) if users else ""
    question = last.rsplit(QUESTION, 1)[1].strip() if QUESTION in last else None
    # In a chat, the newest turn carries the context; in an analysis, the first one.
    blocks = data_blocks(last.rsplit(QUESTION, 1)[0]) if question is not None else data_blocks(first)
    return Prompt(tool=forced_tool(body), blocks=blocks, question=question)
