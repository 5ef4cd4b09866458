"""The Dockerfile's commands are the Procfile's: the image's default command is the web line, and
each Procfile process is named in a label with exactly its command."""
from __future__ import annotations

import json
import re
import shlex

from tests.ops.procfile import ROOT, procfile


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)  # continuation lines
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_default_command_is_the_procfile_web_line():
    (cmd,) = [rest for keyword, rest in instructions() if keyword == "CMD"]
    assert " ".join(json.loads(cmd)) == procfile()["web"]


def test_every_procfile_process_has_its_command_in_a_label():
    labels = {}
    for keyword, rest in instructions():
        if keyword == "LABEL":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                labels[key] = value
    processes = {key.removeprefix("ai-prism.process."): value for key, value in labels.items() if key.startswith("ai-prism.process.")}
    assert processes == procfile()


def test_image_listens_on_port_and_installs_the_pinned_requirements():
    found = instructions()
    assert ("EXPOSE", "8000") in found
    assert any(k == "RUN" and "pip install -r requirements.txt" in r for k, r in found)
    assert any(k == "USER" and r != "root" for k, r in found)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "instance" in ignored
