"""The simulator's answer to a revision check (the forced ``record_revision_check`` tool): deterministic,
read from the request's "Comments" data block as a model would read it. Removed words → quote_gone;
rewritten words → addressed, quoting the rewrite (which is version 2 text, so it verifies); anything
else → open."""
from __future__ import annotations

import json

TOOL = "record_revision_check"


def tool_name(body: dict) -> str | None:
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    return (choice.get("tool") or {}).get("name")


def respond(body: dict) -> str | None:
    """The reply for a forced record_revision_check call; None for any other request (a repair turn
    included: it is answered the same way, from the first message)."""
    if tool_name(body) != TOOL:
        return None
    from tests.support.prompts import data_blocks

    text = body["messages"][0]["content"][0]["text"]
    comments = json.loads(data_blocks(text)[0])
    results = []
    for comment in comments:
        if comment["what_happened"] == "gone":
            results.append({"item_id": comment["item_id"], "status": "quote_gone", "removal_addresses": False,
                            "reason": "The words the comment was about were removed."})
        elif comment["what_happened"] == "changed" and comment.get("version2_words"):
            results.append({"item_id": comment["item_id"], "status": "addressed", "new_quote": comment["version2_words"],
                            "reason": "The sentence was rewritten as the comment asked."})
        else:
            results.append({"item_id": comment["item_id"], "status": "open", "reason": "Nothing changed."})
    return json.dumps({"results": results})
