"""The simulator's answer to the `record_summary` tool: it reads the feedback items from the request's
data block (one JSON object per line, as app/review/summary_prompt.py writes them) and writes a
summary that points only at those items' ids, as a well-behaved model would."""
from __future__ import annotations

import json
import re

_BOUNDARY = re.compile(r"^(SECTION-[0-9a-f]{16})$", re.M)


def _items(body: dict) -> list[dict]:
    text = body["messages"][0]["content"][0]["text"]
    found = _BOUNDARY.search(text)
    if found is None:
        return []
    blocks = re.split(rf"^{re.escape(found.group(1))}$", text, flags=re.M)[1::2]
    items = []
    for line in (blocks[-1] if blocks else "").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), int):
            items.append(entry)
    return items


def respond(model_id: str, body: dict) -> str:
    items = _items(body)
    serious = [i for i in items if i.get("type") in ("critical", "important")]
    score = min(100, 10 + 15 * len(serious) + 3 * (len(items) - len(serious)))
    return json.dumps({
        "risk_score": score,
        "reasons": [f"Simulated by {model_id}: {len(serious)} serious and {len(items) - len(serious)} other open findings."],
        "key_risks": [{"text": f"Key risk: {i.get('description', '')[:200]}", "item_ids": [i["id"]]} for i in serious[:5]],
        "recommendations": [i["suggestion"] for i in serious[:5] if i.get("suggestion")],
        "compliance_concerns": [{"text": i.get("description", "")[:200], "item_ids": [i["id"]]}
                                for i in items if 19 in (i.get("hawkeye") or [])][:5],
        "verdict": "not_ready" if any(i.get("type") == "critical" for i in items) else "needs_work" if serious else "ready",
    })
