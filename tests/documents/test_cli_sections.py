"""`flask sections FILE` shows the hierarchy, indented by level, and why each heading was chosen."""
from app.cli import sections_command
from tests.documents import corpus


def test_sections_shows_parents_levels_and_reasons(tmp_path, app):
    path = tmp_path / "report.docx"
    path.write_bytes(corpus.parents_and_empty_headings()[0])
    result = app.test_cli_runner().invoke(sections_command, [str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].strip() == "Chapter  [parent heading, no text of its own]"
    assert lines[1].startswith("  1.   Part one  [heading_style, level 2")
    assert lines[2].strip() == "why: style 'heading 2' is heading level 2"
    assert any(line.startswith("  2. Chapter two  [heading_style, level 1") for line in lines)


def test_sections_json_carries_parents_and_reason(tmp_path, app):
    import json

    path = tmp_path / "report.docx"
    path.write_bytes(corpus.parents_and_empty_headings()[0])
    result = app.test_cli_runner().invoke(sections_command, [str(path), "--json"])
    first = json.loads(result.output)[0]
    assert first["parents"] == ["Chapter"] and first["reason"] == "style 'heading 2' is heading level 2"


def test_a_refusal_says_what_was_found(tmp_path, app):
    import docx

    d = docx.Document()
    for line in ("Introduction\t1", "Findings\t3", "Actions\t5"):
        d.add_paragraph(line)
    path = tmp_path / "toc.docx"
    d.save(path)
    result = app.test_cli_runner().invoke(sections_command, [str(path)])
    assert result.exit_code != 0 and "only a table of contents" in result.output
