"""A DTD cannot hide from the upload's XML pre-check in another encoding: UTF-16 and UTF-32, big or
little endian, with or without a byte-order mark, in word/document.xml or [Content_Types].xml."""
import pytest

from app.documents.errors import IntakeError
from app.documents.wordml import declares_dtd, parse_xml, xml_characters
from tests.documents.attacks import W_NS, _good_docx, _rewrite
from tests.security.conftest import upload

BOMS = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff",
        "utf-32-le": b"\xff\xfe\x00\x00", "utf-32-be": b"\x00\x00\xfe\xff"}
ENCODINGS = [(name, bom) for name in BOMS for bom in (True, False)]
DECLARED = {"utf-8": "UTF-8", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "utf-32-le": "UTF-32", "utf-32-be": "UTF-32"}


def encoded(xml: str, encoding: str, bom: bool) -> bytes:
    text = f'<?xml version="1.0" encoding="{DECLARED[encoding]}" standalone="yes"?>\n' + xml
    return (BOMS[encoding] if bom else b"") + text.encode(encoding)


XXE = ('<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       f"<w:document {W_NS.decode()}><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>")
LAUGHS = ('<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
          f"<w:document {W_NS.decode()}><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>")
PLAIN = f"<w:document {W_NS.decode()}><w:body><w:p><w:r><w:t>Plain words.</w:t></w:r></w:p></w:body></w:document>"


@pytest.mark.parametrize("encoding,bom", ENCODINGS)
def test_the_pre_check_sees_a_doctype_in_every_encoding(encoding, bom):
    for xml in (XXE, LAUGHS):
        data = encoded(xml, encoding, bom)
        assert declares_dtd(data), (encoding, bom)
        with pytest.raises(IntakeError) as refused:
            parse_xml(data, "word/document.xml")
        assert refused.value.code == "unsafe_xml"
    assert not declares_dtd(encoded(PLAIN, encoding, bom))
    assert "Plain words." in xml_characters(encoded(PLAIN, encoding, bom), "part")


@pytest.mark.parametrize("declared", ["UTF-7", "EBCDIC-US", "IBM037", "cp500"])
def test_an_encoding_word_never_writes_is_refused(declared):
    data = f'<?xml version="1.0" encoding="{declared}"?>'.encode("ascii") + b"+ADwAIQ-DOCTYPE x [ ]><x/>"
    with pytest.raises(IntakeError) as refused:
        parse_xml(data, "word/document.xml")
    assert refused.value.code == "unsafe_xml"


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", True), ("utf-16-be", False), ("utf-32-le", True), ("utf-32-be", False)])
def test_an_upload_with_a_wide_encoded_doctype_is_refused_and_the_next_works(ann_and_bob, encoding, bom):
    ann = ann_and_bob["ann"]
    for part in ("word/document.xml", "[Content_Types].xml"):
        data = _rewrite(_good_docx(), replace={part: encoded(XXE, encoding, bom)})
        response = upload(ann, "wide.docx", data)
        assert response.status_code == 422, (part, response.get_json())
        assert response.get_json()["error"]["code"] in ("unsafe_xml",), response.get_json()
    assert upload(ann, "fine.docx", _good_docx()).status_code == 201


def test_a_utf16_word_document_without_a_dtd_is_read(ann_and_bob):
    import io
    import zipfile

    good = _good_docx()
    document_xml = zipfile.ZipFile(io.BytesIO(good)).read("word/document.xml").decode("utf-8")
    body = document_xml.split("?>", 1)[1]
    data = _rewrite(good, replace={"word/document.xml": encoded(body, "utf-16-le", True)})
    response = upload(ann_and_bob["ann"], "utf16.docx", data)
    assert response.status_code == 201, response.get_json()
