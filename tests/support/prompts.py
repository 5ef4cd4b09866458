"""Reading the prompts the app sent, as a model would: the data blocks between boundary lines."""
from __future__ import annotations

import re

BOUNDARY_LINE = re.compile(r"^(SECTION-[0-9a-f]{16})$", re.M)


def data_blocks(text: str) -> list[str]:
    """The text between each pair of boundary lines (the first boundary line names the token)."""
    found = BOUNDARY_LINE.search(text)
    if found is None:
        return []
    pieces = re.split(rf"^{re.escape(found.group(1))}$", text, flags=re.M)
    return [piece.removeprefix("\n").removesuffix("\n") for piece in pieces[1::2]]


def outside_blocks(text: str) -> str:
    """What a prompt says outside its data blocks."""
    found = BOUNDARY_LINE.search(text)
    if found is None:
        return text
    pieces = re.split(rf"^{re.escape(found.group(1))}$", text, flags=re.M)
    return "".join(pieces[0::2])


def user_text(body: dict) -> str:
    return body["messages"][0]["content"][0]["text"]


def section_text_of(body: dict) -> str:
    """The section under review: the last data block of an analysis request."""
    return data_blocks(user_text(body))[-1]


def forced_tool(body: dict) -> str | None:
    """The name of the tool a Converse request forces, if any (record_feedback, record_summary)."""
    return (((body.get("toolConfig") or {}).get("toolChoice") or {}).get("tool") or {}).get("name")


def analysis_bodies(fake) -> list[dict]:
    """The analysis requests the fake received (tool or text form), leaving out summaries and chat."""
    return [body for _, _, body in fake.requests
            if forced_tool(body) == "record_feedback" or "feedback_items" in str(body.get("system"))]
