"""What in an exported .docx would make Word reach outside the file when it is opened, removed.

An uploaded .docx may carry external relationships (TargetMode="External" in a .rels part): an
attached template (fetched from a share or a web server on open, a known way to leak credentials or
load macros), linked images, OLE links to file:/// paths, frames, mail-merge data sources, linked
chart data. It may also carry fields that pull content in: INCLUDETEXT, INCLUDEPICTURE and their
older names, LINK, DDE and DDEAUTO. The export we hand out must not do any of that.

- External relationships are dropped, and so is what points at them: elements that only exist to
  fetch (w:attachedTemplate, an OLE link, a sub-document, a mail-merge source, linked chart data)
  go, any other element only loses the attribute (a linked picture keeps its place, a hyperlink its
  text). Ordinary hyperlinks (http, https, mailto) stay: Word follows one only when the reader
  clicks it, never when the file is opened, and the reviewers' documents are full of them.
- Those fields are unlinked as Word's own "Unlink field" does: the result last shown stays as plain
  content, the instruction goes (simple w:fldSimple fields and complex begin/separate/end ones,
  nested fields in the instruction included).

Parts are edited with lxml and only the parts that change are rewritten.
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from urllib.parse import urlsplit

from lxml import etree

PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
REL_NAMESPACES = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                  "http://purl.oclc.org/ooxml/officeDocument/relationships")
WORD_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                   "http://purl.oclc.org/ooxml/wordprocessingml/main")
HARMLESS_SCHEMES = ("http", "https", "mailto")
# Elements whose only purpose is the outside target: removed with it.
FETCHING_ELEMENTS = {"attachedTemplate", "OLEObject", "subDoc", "dataSource", "headerSource", "src", "sourceFileName",
                     "externalData", "recipientData"}
FETCHING_FIELDS = {"INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "IMPORT", "LINK", "DDE", "DDEAUTO"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def _tags(local: str) -> list[str]:
    return [f"{{{ns}}}{local}" for ns in WORD_NAMESPACES]


def _source_of(rels_name: str) -> str:
    """word/_rels/document.xml.rels -> word/document.xml; _rels/.rels -> '' (the package)."""
    folder, name = posixpath.split(rels_name)
    return posixpath.join(posixpath.dirname(folder), name[: -len(".rels")]) if name != ".rels" else ""


def _harmless(relationship) -> bool:
    if not relationship.get("Type", "").endswith("/hyperlink"):
        return False
    return urlsplit(relationship.get("Target", "").strip()).scheme.lower() in HARMLESS_SCHEMES


def _drop_external_relationships(root) -> set[str]:
    dropped = set()
    for relationship in list(root.iter(PACKAGE_RELS)):
        if relationship.get("TargetMode") == "External" and not _harmless(relationship):
            dropped.add(relationship.get("Id"))
            relationship.getparent().remove(relationship)
    return dropped


def _drop_references(root, dropped: set[str]) -> bool:
    changed = False
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        for name, value in list(element.attrib.items()):
            if value in dropped and any(name.startswith(f"{{{ns}}}") for ns in REL_NAMESPACES):
                changed = True
                if etree.QName(element).localname in FETCHING_ELEMENTS and element.getparent() is not None:
                    element.getparent().remove(element)
                    break
                del element.attrib[name]
    return changed


def _field_name(instruction: str) -> str:
    words = instruction.split(None, 1)
    return words[0].upper() if words else ""


def _unwrap_simple_fields(root) -> bool:
    changed = False
    for field in [f for tag in _tags("fldSimple") for f in root.iter(tag)]:
        instruction = next((v for k, v in field.attrib.items() if k.endswith("}instr")), "")
        parent = field.getparent()
        if _field_name(instruction) not in FETCHING_FIELDS or parent is None:
            continue
        at = parent.index(field)
        for child in list(field):
            if etree.QName(child).localname != "fldData":
                parent.insert(at, child)
                at += 1
        parent.remove(field)
        changed = True
    return changed


class _Field:
    def __init__(self, begin):
        self.begin, self.separate, self.end = begin, None, None
        self.instruction: list[str] = []
        self.in_instruction: list = []  # run children between begin and separate (nested fields too)


def _unlink_complex_fields(root) -> bool:
    open_fields: list[_Field] = []
    closed: list[_Field] = []
    fld_char, instr_text, run_props = set(_tags("fldChar")), set(_tags("instrText")), set(_tags("rPr"))
    for run in [r for tag in _tags("r") for r in root.iter(tag)]:
        for child in list(run):
            if child.tag in run_props:
                continue
            kind = next((v for k, v in child.attrib.items() if k.endswith("}fldCharType")), None) if child.tag in fld_char else None
            if kind == "begin":
                for field in open_fields:
                    if field.separate is None:
                        field.in_instruction.append(child)
                open_fields.append(_Field(child))
                continue
            if kind in ("separate", "end") and open_fields:
                top = open_fields[-1]
                for field in open_fields[:-1]:
                    if field.separate is None:
                        field.in_instruction.append(child)
                if kind == "separate":
                    top.separate = top.separate if top.separate is not None else child
                else:
                    top.end = child
                    closed.append(open_fields.pop())
                continue
            for field in open_fields:
                if field.separate is None:
                    field.in_instruction.append(child)
            if child.tag in instr_text and open_fields and open_fields[-1].separate is None:
                open_fields[-1].instruction.append(child.text or "")
    changed = False
    emptied = set()
    for field in closed:
        if _field_name("".join(field.instruction)) not in FETCHING_FIELDS:
            continue
        for element in [field.begin, *field.in_instruction, field.separate, field.end]:
            parent = element.getparent() if element is not None else None
            if parent is not None:
                parent.remove(element)
                emptied.add(parent)
        changed = True
    for run in emptied:  # runs left with nothing but their properties
        if all(child.tag in run_props for child in run) and run.getparent() is not None:
            run.getparent().remove(run)
    return changed


def strip_external(data: bytes) -> bytes:
    """The .docx without external relationships (ordinary hyperlinks kept), what pointed at them,
    and fields that pull content in."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        parts = {info.filename: zin.read(info.filename) for info in infos}
    changed: dict[str, bytes] = {}
    dropped_for: dict[str, set[str]] = {}
    for name, blob in parts.items():
        if name.endswith(".rels") and b"External" in blob:
            root = etree.fromstring(blob, PARSER)
            dropped = _drop_external_relationships(root)
            if dropped:
                dropped_for[_source_of(name)] = dropped
                changed[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    for name, blob in parts.items():
        if not name.endswith(".xml") or (name not in dropped_for and b"fldSimple" not in blob and b"fldChar" not in blob):
            continue
        root = etree.fromstring(blob, PARSER)
        edited = _drop_references(root, dropped_for[name]) if name in dropped_for else False
        edited = _unwrap_simple_fields(root) | edited
        edited = _unlink_complex_fields(root) | edited
        if edited:
            changed[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if not changed:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, changed.get(info.filename, parts[info.filename]))
    return out.getvalue()
