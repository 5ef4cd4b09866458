"""Reading WordprocessingML (a .docx's XML) with lxml, as a reader sees it: safe parsing, styles
through their basedOn chains, the visible text of runs and paragraphs (hidden, deleted, tiny and
white-on-white text left out), body blocks and tables. Shared by section extraction
(`docx_extract`) and the annotated Word export, which must see the same text to place comments."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .errors import IntakeError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W_BODY, W_P, W_TBL, W_TR, W_TC, W_R, W_T = (W + t for t in ("body", "p", "tbl", "tr", "tc", "r", "t"))
W_PPR, W_RPR, W_SDT, W_SDTCONTENT = W + "pPr", W + "rPr", W + "sdt", W + "sdtContent"
W_VAL = W + "val"
# Containers whose runs are part of the visible paragraph text.
_RUN_CONTAINERS = {W + t for t in ("hyperlink", "ins", "smartTag", "fldSimple", "customXml", "sdt", "sdtContent", "moveTo")}
_FALSE = {"0", "false", "off", "none"}
_BUILTIN_HEADING = re.compile(r"^heading ([1-9])$")
_TOC_STYLE = re.compile(r"^(?:toc [1-9]|toc heading|table of figures|table of authorities|index [1-9])$")

SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=True, remove_pis=True,
)


# XML's own encoding detection (XML 1.0, Appendix F): a byte-order mark, else the first characters.
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_SIGNATURES = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
               (b"<\x00?\x00", "utf-16-le"))
_DECLARED = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
# Encodings in which the ASCII characters of "<!DOCTYPE" are their own bytes.
_ASCII_COMPATIBLE = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}


def xml_characters(data: bytes, part: str) -> str:
    """The part's characters, decoded as the XML parser would: by byte-order mark, by the UTF-16/32
    signature of `<?`, else by the declared encoding. An encoding in which `<!DOCTYPE` could hide from
    a text search (UTF-7, EBCDIC, …: Word never writes them) is refused."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return data[len(mark):].decode(encoding, "replace")
    for signature, encoding in _SIGNATURES:
        if data.startswith(signature):
            return data.decode(encoding, "replace")
    declared = _DECLARED.match(data[:200])
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding not in _ASCII_COMPATIBLE:
        raise IntakeError(422, "unsafe_xml", f"The document's {part} declares the encoding {encoding!r}, which Word never writes; it was refused.")
    return data.decode("latin-1")  # byte for byte: enough to find the ASCII markup


def declares_dtd(data: bytes, part: str = "part") -> bool:
    """Whether the part holds a DOCTYPE or an ENTITY declaration, in whatever encoding it is written."""
    text = xml_characters(data, part)
    return "<!DOCTYPE" in text or "<!ENTITY" in text


def parse_xml(data: bytes, part: str) -> etree._Element:
    """Parse one package part safely: no entities, no network, no DTD; a DOCTYPE is refused."""
    # Word never writes a DTD; refusing one before parsing rules out XXE and entity bombs outright.
    if declares_dtd(data, part):
        raise IntakeError(422, "unsafe_xml", f"The document's {part} declares a DTD, which Word never writes; it was refused.")
    try:
        root = etree.fromstring(data, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise IntakeError(422, "corrupt_file", f"The document is damaged: {part} is not valid XML.") from exc
    # The second wall: whatever the pre-check missed, a document that came with a DTD is refused.
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise IntakeError(422, "unsafe_xml", f"The document's {part} declares a DTD, which Word never writes; it was refused.")
    return root


def _on(element) -> bool:
    """A toggle property (<w:b/>, <w:vanish w:val="false"/>) is on unless its value says off."""
    return element is not None and element.get(W_VAL, "true").lower() not in _FALSE


@dataclass
class Style:
    outline: int | None = None  # 0..8 headings; 9 is body text
    bold: bool | None = None
    size: int | None = None  # half-points
    hidden: bool | None = None
    numbered: bool | None = None
    based_on: str | None = None
    name: str = ""
    role: str | None = None  # "title" (Title/Subtitle) or "toc" (TOC entries and heading), through basedOn


class Styles:
    """Paragraph and character styles with their effective properties through basedOn."""

    def __init__(self, root: etree._Element | None):
        self._raw: dict[str, Style] = {}
        self._resolved: dict[str, Style] = {}
        self.default_paragraph: str | None = None
        self.body_size = 20
        if root is None:
            return
        defaults = root.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}sz")
        if defaults is not None and defaults.get(W_VAL, "").isdigit():
            self.body_size = int(defaults.get(W_VAL))
        for el in root.iter(W + "style"):
            style_id = el.get(W + "styleId")
            if not style_id:
                continue
            style = Style()
            name_el = el.find(W + "name")
            style.name = (name_el.get(W_VAL) if name_el is not None else "").lower()
            based = el.find(W + "basedOn")
            style.based_on = based.get(W_VAL) if based is not None else None
            ppr, rpr = el.find(W_PPR), el.find(W_RPR)
            if ppr is not None:
                lvl = ppr.find(W + "outlineLvl")
                if lvl is not None and lvl.get(W_VAL, "").isdigit():
                    style.outline = int(lvl.get(W_VAL))
                num = ppr.find(W + "numPr")
                if num is not None:
                    num_id = num.find(W + "numId")
                    style.numbered = num_id is None or num_id.get(W_VAL) != "0"
            builtin = _BUILTIN_HEADING.match(style.name)
            if style.outline is None and builtin:
                style.outline = int(builtin.group(1)) - 1
            if style.name in ("title", "subtitle"):
                style.role, style.outline = "title", None  # the document's title: not a heading
            elif _TOC_STYLE.match(style.name):
                style.role, style.outline = "toc", None
            if rpr is not None:
                b = rpr.find(W + "b")
                if b is not None:
                    style.bold = _on(b)
                sz = rpr.find(W + "sz")
                if sz is not None and sz.get(W_VAL, "").isdigit():
                    style.size = int(sz.get(W_VAL))
                vanish = rpr.find(W + "vanish")
                if vanish is not None:
                    style.hidden = _on(vanish)
            self._raw[style_id] = style
            if el.get(W + "type") == "paragraph" and el.get(W + "default") in ("1", "true"):
                self.default_paragraph = style_id
        default = self.get(self.default_paragraph)
        if default.size:
            self.body_size = default.size

    def get(self, style_id: str | None) -> Style:
        if not style_id:
            return Style()
        if style_id in self._resolved:
            return self._resolved[style_id]
        chain, seen, current = [], set(), style_id
        while current and current in self._raw and current not in seen:
            seen.add(current)
            chain.append(self._raw[current])
            current = self._raw[current].based_on
        effective = Style(name=chain[0].name if chain else "")
        for style in reversed(chain):  # the base first, each derived style overriding it
            for attr in ("outline", "bold", "size", "hidden", "numbered", "role"):
                value = getattr(style, attr)
                if value is not None:
                    setattr(effective, attr, value)
        self._resolved[style_id] = effective
        return effective


@dataclass
class Para:
    text: str
    style: Style
    outline: int | None  # the paragraph's own outline level
    numbered: bool
    all_bold: bool
    max_size: int
    style_id: str | None = None
    drop_cap: bool = False  # a framed drop capital: the first letter of the next paragraph
    toc_link: bool = False  # all its text is a link to a _Toc bookmark (a table-of-contents entry)
    # Where each paragraph's own runs sit in ``text``: (w:p element, offset of its first character,
    # length of its own text). The paragraph itself, then the paragraphs of its text boxes and notes.
    places: list = field(default_factory=list)
    # Each attached note's paragraphs (w:p) -> (the run citing the note, "footnote 1"): where a comment
    # on the note's text goes, as comments inside notes stop LibreOffice opening the file.
    cited: dict = field(default_factory=dict)


# Text no reader sees is left out of what is analysed: a model would read it as if it were the author's.
MAX_INVISIBLE_SIZE = 4  # half-points, i.e. 2 pt
_WHITE = {"ffffff", "white"}


def _on_white_page(rpr, state: list) -> bool:
    """A white run is invisible when nothing coloured sits behind it: no highlight or shading of its
    own, and a paragraph that is neither shaded nor in a table cell (worked out once per paragraph,
    and only for paragraphs that have white text at all)."""
    if not isinstance(state[2], bool):
        state[2] = _backed(state[2])
    if state[2]:
        return False
    highlight = rpr.find(W + "highlight")
    if highlight is not None and (highlight.get(W_VAL) or "none").lower() not in ("none", "white"):
        return False
    shading = rpr.find(W + "shd")
    if shading is not None and (shading.get(W + "fill") or "auto").lower() not in ("auto", "ffffff", "white"):
        return False
    return True


def run_text(run, styles: Styles, para_style: Style, state: list) -> str:
    rpr = run.find(W_RPR)
    bold, size, hidden = para_style.bold, para_style.size, False
    if rpr is not None:
        rstyle = rpr.find(W + "rStyle")
        if rstyle is not None:
            char_style = styles.get(rstyle.get(W_VAL))
            bold = char_style.bold if char_style.bold is not None else bold
            size = char_style.size or size
            hidden = bool(char_style.hidden)
        for child in rpr:
            tag = child.tag
            if tag == W + "vanish" or tag == W + "webHidden":
                hidden = hidden or _on(child)
            elif tag == W + "b":
                bold = _on(child)
            elif tag == W + "sz":
                value = child.get(W_VAL, "")
                size = int(value) if value.isdigit() else size
            elif tag == W + "color" and (child.get(W_VAL) or "").lower() in _WHITE:
                hidden = hidden or _on_white_page(rpr, state)
    if size is not None and size <= MAX_INVISIBLE_SIZE:
        hidden = True  # 2 pt or smaller: nobody reads it, so it is not analysed (a classic injection hiding place)
    if hidden:
        return ""
    parts = []
    for child in run:
        tag = child.tag
        if tag == W_T:
            parts.append(child.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag == W + "ruby":  # phonetic guide: the base text is what the line says
            base = child.find(W + "rubyBase")
            parts.extend(t.text or "" for t in (base.iter(W_T) if base is not None else ()))
    text = "".join(parts)
    if text.strip():
        state[0] = state[0] and bool(bold)
        state[1] = max(state[1], size or styles.body_size)
    return text


def iter_runs(element):
    """The paragraph's runs in reading order, through hyperlinks, insertions, fields and content
    controls; deleted runs and text-box contents are not part of the paragraph's text."""
    for child in element:
        tag = child.tag
        if tag == W_R:
            yield child
        elif tag in _RUN_CONTAINERS:
            yield from iter_runs(child)


def _collect(element, styles: Styles, para_style: Style, state: list, out: list) -> None:
    for run in iter_runs(element):
        out.append(run_text(run, styles, para_style, state))


def _backed(p) -> bool:
    """The paragraph may sit on a coloured background: its own shading, or a table cell (whose shading
    may come from a table style we do not resolve). White text there is not taken to be invisible."""
    ppr = p.find(W_PPR)
    shading = ppr.find(W + "shd") if ppr is not None else None
    if shading is not None and (shading.get(W + "fill") or "auto").lower() not in ("auto", "ffffff", "white"):
        return True
    parent = p.getparent()
    while parent is not None:
        if parent.tag == W_TC:
            return True
        parent = parent.getparent()
    return False


def run_state(p) -> list:
    """The running state run_text keeps for one paragraph: [every visible run bold, largest size,
    the paragraph — replaced by whether it sits on a coloured background once a white run asks]."""
    return [True, 0, p]


def read_paragraph(p, styles: Styles) -> Para:
    ppr = p.find(W_PPR)
    style_id, outline, numbered = None, None, False
    if ppr is not None:
        pstyle = ppr.find(W + "pStyle")
        style_id = pstyle.get(W_VAL) if pstyle is not None else None
        lvl = ppr.find(W + "outlineLvl")
        if lvl is not None and lvl.get(W_VAL, "").isdigit():
            outline = int(lvl.get(W_VAL))
        num = ppr.find(W + "numPr")
        if num is not None:
            num_id = num.find(W + "numId")
            numbered = num_id is None or num_id.get(W_VAL) != "0"
    style = styles.get(style_id or styles.default_paragraph)
    state = run_state(p)
    out: list[str] = []
    _collect(p, styles, style, state, out)
    text = "".join(out)
    frame = ppr.find(W + "framePr") if ppr is not None else None
    drop_cap = frame is not None and frame.get(W + "dropCap") in ("drop", "margin")
    toc_link = False
    if text.strip() and p.find(W + "hyperlink") is not None:
        links = [h for h in p.iterchildren(W + "hyperlink") if (h.get(W + "anchor") or "").startswith("_Toc")]
        toc_link = bool(links) and sum(len("".join(t.text or "" for t in h.iter(W_T))) for h in links) >= len(text.strip()) * 0.5
    own = text  # the paragraph's own runs decide whether it is all bold, not its text boxes
    places = [(p, 0, len(own))] if own else []
    boxes, box_places = text_box_layout(p, styles)
    if boxes:
        # After the paragraph's own runs, so run offsets (used to place comments) stay as they were.
        if text.strip():
            text = text + "\n" + boxes
            places += [(e, start + len(own) + 1, n) for e, start, n in box_places]
        else:
            text, places = boxes, box_places
    return Para(text, style, outline, numbered or bool(style.numbered), state[0] and bool(own.strip()), state[1],
                style_id, drop_cap, toc_link, places)


MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
W_TXBX = W + "txbxContent"


def text_box_layout(p, styles: Styles) -> tuple[str, list]:
    """The text of the text boxes and shapes anchored in this paragraph, one line per paragraph,
    and where each of their paragraphs' own runs sit in it (as ``Para.places``). A box written
    twice (DrawingML and its VML fallback) is read once, in the DrawingML copy Word shows; nested
    boxes belong to their own paragraph."""
    lines: list[str] = []
    places: list = []
    position = 0
    for box in p.iter(W_TXBX):
        owner, skip = box.getparent(), False
        while owner is not None and owner is not p:
            if owner.tag == MC_FALLBACK or owner.tag == W_P:
                skip = True
                break
            owner = owner.getparent()
        if skip:
            continue
        for inner in box.iter(W_P):
            if inner.getparent() is not None and _nearest_box(inner) is box:
                para = read_paragraph(inner, styles)
                line = para.text.strip()
                if line:
                    if lines:
                        position += 1
                    lead = len(para.text) - len(para.text.lstrip())
                    places += [(e, position + start - lead, n) for e, start, n in para.places]
                    lines.append(line)
                    position += len(line)
    return "\n".join(lines), places


def _nearest_box(element):
    parent = element.getparent()
    while parent is not None and parent.tag != W_TXBX:
        parent = parent.getparent()
    return parent


def in_fallback(element, stop=None) -> bool:
    """Whether ``element`` sits in the VML fallback copy of a drawing (below ``stop``, if given)."""
    parent = element.getparent()
    while parent is not None and parent is not stop:
        if parent.tag == MC_FALLBACK:
            return True
        parent = parent.getparent()
    return False


_STORIES = {W_TXBX, W + "footnote", W + "endnote", W_BODY, W + "hdr", W + "ftr", W + "comment"}


def story_of(element):
    """The story a paragraph belongs to (the body, one text box, one note…): a comment's range must
    start and end in the same one."""
    parent = element.getparent()
    while parent is not None and parent.tag not in _STORIES:
        parent = parent.getparent()
    return parent


def body_blocks(body) -> list:
    """The body's paragraphs and tables in reading order (content controls opened up). Exports use
    the same list, so a block index means the same element everywhere."""
    blocks = []
    for child in body:
        tag = child.tag
        if tag == W_P or tag == W_TBL:
            blocks.append(child)
        elif tag == W_SDT:
            content = child.find(W_SDTCONTENT)
            if content is not None:
                blocks.extend(body_blocks(content))
    return blocks


def _opened(parent, tag: str) -> list:
    """The ``tag`` children of a table or row, with content controls (w:sdt) around rows or cells opened."""
    found = []
    for child in parent:
        if child.tag == tag:
            found.append(child)
        elif child.tag == W_SDT:
            content = child.find(W_SDTCONTENT)
            if content is not None:
                found.extend(_opened(content, tag))
    return found


def table_layout(tbl, styles: Styles, row_separator: str = "\n") -> tuple[str, list]:
    """A table as lines (one per row, cells separated by ' | ', nested tables inline, their rows
    separated by ' / ') and, for each
    cell paragraph (nested tables' and text boxes' included), where its own runs sit in those lines
    (as ``Para.places``). Exports use the positions to put a comment in the right cell."""
    rows: list[str] = []
    places: list = []
    offset = 0
    for tr in _opened(tbl, W_TR):
        cells: list[str] = []
        row_places: list = []
        position = 0
        for tc in _opened(tr, W_TC):
            parts: list[str] = []
            cell_start = position
            for child in tc:
                if child.tag == W_P:
                    para = read_paragraph(child, styles)
                    text = para.text.strip()
                    if text:
                        at = cell_start + sum(len(p) + 1 for p in parts)
                        lead = len(para.text) - len(para.text.lstrip())
                        row_places += [(e, at + start - lead, n) for e, start, n in para.places]
                        parts.append(text)
                elif child.tag == W_TBL:
                    nested, nested_places = table_layout(child, styles, " / ")
                    if nested:
                        at = cell_start + sum(len(p) + 1 for p in parts)
                        row_places += [(e, at + start, n) for e, start, n in nested_places]
                        parts.append(nested)
            cell = " ".join(parts)
            cells.append(cell)
            position += len(cell) + 3
        if any(cells):
            row = " | ".join(cells)
            lead = len(row) - len(row.lstrip())
            rows.append(row.strip())
            places += [(e, offset + start - lead, n) for e, start, n in row_places]
            offset += len(rows[-1]) + len(row_separator)
    return row_separator.join(rows), places


def table_text(tbl, styles: Styles) -> str:
    """A table as lines: one per row, cells separated by ' | ', nested tables inline."""
    return table_layout(tbl, styles)[0]
