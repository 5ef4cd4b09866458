"""Vetting an upload before anything is parsed or stored: the name, the size, the real type by magic
bytes (and the extension agreeing), zip limits read from the zip directory, macros, encryption."""
from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
import zipfile
from dataclasses import dataclass

from app.storage import safe_name
from app.text_hygiene import safe_file_name

from .errors import IntakeError

ACCEPTED = ("docx", "pdf", "txt", "md")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
}
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_unzipped: int = 200 * 1024 * 1024
    max_entries: int = 5000
    max_ratio: int = 100  # uncompressed/compressed, for entries over 1 MB
    max_sections: int = 2000  # past it, the rest of the document is one merged section


@dataclass
class VettedFile:
    original_name: str
    safe_name: str
    format: str
    content_type: str
    data: bytes
    sha256: str
    zip: zipfile.ZipFile | None = None
    budget: int = 0

    def read_part(self, name: str) -> bytes:
        """One zip part, never more than its declared size nor the remaining unzip budget."""
        info = self.zip.getinfo(name)
        cap = min(info.file_size, self.budget)
        with self.zip.open(info) as handle:
            data = handle.read(cap + 1)
        if len(data) > cap:
            raise IntakeError(413, "too_large_unzipped", "The document unpacks to more than it declares; it was refused.")
        self.budget -= len(data)
        return data


def check_name(filename: str) -> tuple[str, str]:
    """(the name as given, a safe name with its extension); 400 for names that are never honest."""
    name = filename or ""
    if "\x00" in name or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise IntakeError(400, "invalid_filename", "The file name contains control characters.")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise IntakeError(400, "invalid_filename", "The file name must not contain a folder path.")
    if len(name) > MAX_NAME_LENGTH:
        raise IntakeError(400, "invalid_filename", f"The file name is longer than {MAX_NAME_LENGTH} characters.")
    # Kept as data, but never with characters that break exports or disguise the extension.
    name = safe_file_name(name)
    if not name.strip():
        raise IntakeError(400, "invalid_filename", "The file has no name.")
    return name, safe_name(name)


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the name says: zip, pdf, ole, text or binary."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return "ole"
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with a BOM
    if b"\x00" in head:
        return "binary"
    return "text"


def zip_entry_count(data: bytes) -> int:
    """Entries declared by the zip's end-of-central-directory record (zip64 aware), read before
    Python's zipfile builds a list of them."""
    tail = data[-(65536 + 22):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise IntakeError(422, "corrupt_file", "The file is not a readable Word document (its zip directory is missing).")
    count = struct.unpack_from("<H", tail, at + 10)[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", tail, at - 20 + 8)[0]
        if data[offset:offset + 4] == b"PK\x06\x06":
            count = struct.unpack_from("<Q", data, offset + 32)[0]
    return count


def _vet_zip(vetted: VettedFile, limits: Limits) -> None:
    entries = zip_entry_count(vetted.data)
    if entries > limits.max_entries:
        raise IntakeError(413, "too_many_entries", f"The document holds {entries} parts; at most {limits.max_entries} are accepted.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(vetted.data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error) as exc:
        raise IntakeError(422, "corrupt_file", "The file is damaged: its zip structure cannot be read.") from exc
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped:
        raise IntakeError(413, "too_large_unzipped", f"The document unpacks to {total // (1024 * 1024)} MB; at most {limits.max_unzipped // (1024 * 1024)} MB are accepted.")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise IntakeError(413, "compression_ratio", "The document is compressed far more than any real document; it was refused.")
        if info.flag_bits & 0x1:
            raise IntakeError(422, "password_protected", "The document is password-protected. Remove the password in Word and upload it again.")
    names = {info.filename for info in infos}
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise IntakeError(415, "macros_not_allowed", "The document contains macros. Save it as a plain .docx (Word Document) and upload that.")
    if "[Content_Types].xml" not in names:
        raise IntakeError(415, "not_a_word_document", "The file is a zip archive but not a Word document.")
    vetted.zip, vetted.budget = zf, limits.max_unzipped
    from .wordml import parse_xml, xml_characters

    raw_types = vetted.read_part("[Content_Types].xml")
    parse_xml(raw_types, "[Content_Types].xml")  # in its own encoding (Word may write UTF-16)
    types = xml_characters(raw_types, "[Content_Types].xml")
    if "macroEnabled" in types or "vbaProject" in types:
        raise IntakeError(415, "macros_not_allowed", "The document is macro-enabled (.docm). Save it as a plain .docx and upload that.")
    from .docx_package import main_part

    if WORD_MAIN not in types or main_part(names, vetted.read_part) is None:
        raise IntakeError(415, "not_a_word_document", "The file is an Office package but not a Word document.")


def vet(filename: str, data: bytes, limits: Limits = Limits()) -> VettedFile:
    """Check an upload; raises IntakeError (400/413/415/422) with a message a person can act on."""
    original, safe = check_name(filename)
    ext = extension(original)
    if ext == "docm":
        raise IntakeError(415, "macros_not_allowed", "Macro-enabled documents (.docm) are not accepted. Save as .docx and upload that.")
    if ext not in ACCEPTED:
        raise IntakeError(415, "unsupported_type", "Upload a .docx, .pdf, .txt or .md file.")
    if len(data) > limits.max_bytes:
        raise IntakeError(413, "file_too_large", f"The file is larger than {limits.max_bytes // (1024 * 1024)} MB.")
    if not data.strip():
        raise IntakeError(422, "empty_file", "The file is empty.")
    kind = sniff(data)
    if kind == "ole":
        if ENCRYPTED_PACKAGE in data:
            raise IntakeError(422, "password_protected", "The document is password-protected. Remove the password in Word and upload it again.")
        raise IntakeError(415, "legacy_format", "This is an old binary Office file (.doc). Save it as .docx and upload that.")
    expected = {"docx": "zip", "pdf": "pdf", "txt": "text", "md": "text"}[ext]
    if kind != expected:
        described = {"zip": "a zip/Office file", "pdf": "a PDF", "text": "plain text", "binary": "a binary file"}[kind]
        raise IntakeError(415, "type_mismatch", f"The file is named .{ext} but its content is {described}.")
    vetted = VettedFile(original, safe, ext, CONTENT_TYPES[ext], data, hashlib.sha256(data).hexdigest())
    if kind == "zip":
        _vet_zip(vetted, limits)
    return vetted
