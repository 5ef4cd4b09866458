"""The upload attack corpus: each builder returns (file name, bytes)."""
from __future__ import annotations

import io
import struct
import zipfile

from tests.documents.corpus import heading_styles

DOCX_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
W_NS = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _good_docx() -> bytes:
    return heading_styles()[0]


def _rewrite(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
        for name, payload in (add or {}).items():
            target.writestr(name, payload)
    return out.getvalue()


def zip_bomb_declared() -> tuple[str, bytes]:
    """About 1 KB on the wire whose zip directory says it unpacks to 1 GB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("word/document.xml", b"0" * 4096)
    data = bytearray(out.getvalue())
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == b"word/document.xml":
            struct.pack_into("<I", data, central + 24, 1024 ** 3)  # uncompressed size: 1 GB
        central = data.find(b"PK\x01\x02", central + 4)
    assert len(data) < 1500
    return "bomb.docx", bytes(data)


def zip_bomb_ratio() -> tuple[str, bytes]:
    """A real one: 60 MB of zeros deflated to about 60 KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("word/document.xml", b"\x00" * (60 * 1024 * 1024))
    return "ratio.docx", out.getvalue()


def many_entries() -> tuple[str, bytes]:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i in range(100_000):
            z.writestr(f"e/{i}", b"")
    return "many.docx", out.getvalue()


def docm_renamed() -> tuple[str, bytes]:
    data = _good_docx()
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml").replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )
    return "renamed.docx", _rewrite(data, replace={"[Content_Types].xml": types})


def docx_with_vba() -> tuple[str, bytes]:
    return "vba.docx", _rewrite(_good_docx(), add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})


def _with_document_xml(xml: bytes, name: str) -> tuple[str, bytes]:
    return name, _rewrite(_good_docx(), replace={"word/document.xml": xml})


def xxe() -> tuple[str, bytes]:
    return _with_document_xml(
        DOCX_XML_HEAD + b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<w:document " + W_NS + b"><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>",
        "xxe.docx",
    )


def billion_laughs() -> tuple[str, bytes]:
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    return _with_document_xml(
        DOCX_XML_HEAD + b"<!DOCTYPE w:document [" + entities + b"]>"
        b"<w:document " + W_NS + b"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>",
        "laughs.docx",
    )


def pdf_renamed_docx() -> tuple[str, bytes]:
    from tests.documents.corpus import pdf_with_outline

    return "report.docx", pdf_with_outline()[0]


def html_renamed_pdf() -> tuple[str, bytes]:
    return "page.pdf", b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def empty_file() -> tuple[str, bytes]:
    return "empty.docx", b""


def no_text() -> tuple[str, bytes]:
    import docx

    from tests.documents.corpus import save

    document = docx.Document()
    document.add_paragraph("")
    document.add_paragraph("   ")
    return "blank.docx", save(document)


def corrupt_zip() -> tuple[str, bytes]:
    data = _good_docx()
    return "corrupt.docx", data[: len(data) // 2]


def password_protected() -> tuple[str, bytes]:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(_good_docx())).encrypt("s3cret", out)
    return "locked.docx", out.getvalue()


def long_name() -> tuple[str, bytes]:
    return "a" * 296 + ".docx", _good_docx()


def traversal_name() -> tuple[str, bytes]:
    return "../../etc/evil.docx", _good_docx()


def null_byte_name() -> tuple[str, bytes]:
    return "report.docx\x00.exe", _good_docx()


# name → (builder, expected status, expected error code)
ATTACKS = {
    "zip_bomb_declared": (zip_bomb_declared, 413, "too_large_unzipped"),
    "zip_bomb_ratio": (zip_bomb_ratio, 413, "compression_ratio"),
    "many_entries": (many_entries, 413, "too_many_entries"),
    "docm_renamed": (docm_renamed, 415, "macros_not_allowed"),
    "docx_with_vba": (docx_with_vba, 415, "macros_not_allowed"),
    "xxe": (xxe, 422, "unsafe_xml"),
    "billion_laughs": (billion_laughs, 422, "unsafe_xml"),
    "pdf_renamed_docx": (pdf_renamed_docx, 415, "type_mismatch"),
    "html_renamed_pdf": (html_renamed_pdf, 415, "type_mismatch"),
    "empty_file": (empty_file, 422, "empty_file"),
    "no_text": (no_text, 422, "no_text"),
    "corrupt_zip": (corrupt_zip, 422, "corrupt_file"),
    "password_protected": (password_protected, 422, "password_protected"),
    "long_name": (long_name, 400, "invalid_filename"),
    "traversal_name": (traversal_name, 400, "invalid_filename"),
    "null_byte_name": (null_byte_name, 400, "invalid_filename"),
}
