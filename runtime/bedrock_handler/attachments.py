"""Images and documents a request's messages attach, as Converse blocks: base64 and `data:` URLs decoded,
the bytes checked against the declared format, Bedrock's per-message limits, neutral document names
(PROTOCOL.md §12.B1). Remote URLs are refused, never fetched."""

from __future__ import annotations

import binascii
from collections.abc import Sequence

from bedrock_handler.chat import Block
from bedrock_handler.errors import RequestError

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
MAX_IMAGE_BYTES = 3_750_000
MAX_DOCUMENT_BYTES = 4_500_000
MAX_IMAGES_PER_MESSAGE = 20
MAX_DOCUMENTS_PER_MESSAGE = 5
IMAGE_MEDIA_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_MEDIA_TYPES = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc and .xls
_ZIP = b"PK\x03\x04"  # the container of .docx and .xlsx
_TEXT_FORMATS = frozenset({"csv", "html", "txt", "md"})  # UTF-8 text without NUL bytes
_SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "pdf": (b"%PDF-",),
    "docx": (_ZIP,),
    "xlsx": (_ZIP,),
    "doc": (_OLE,),
    "xls": (_OLE,),
}


def _refused(message: str) -> RequestError:
    return RequestError(message, param="messages")


def decode_base64(text: object, where: str) -> bytes:
    """The bytes of a base64 string (standard alphabet, padding required)."""
    if not isinstance(text, str) or not text:
        raise _refused(f"{where} must be a non-empty base64 string")
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _refused(f"{where} is not valid base64") from None


def data_url(url: object, where: str) -> tuple[str, bytes]:
    """The media type and bytes of a `data:<type>;base64,<data>` URL; any other URL is refused."""
    if not isinstance(url, str) or not url:
        raise _refused(f"{where} must be a data: URL")
    if url[:8].lower().startswith(("http://", "https://")):
        raise _refused(f"{where}: remote URLs are not fetched; send the content as a data: URL (base64)")
    head, comma, payload = url.partition(",")
    if not (head[:5].lower() == "data:" and comma and head.lower().endswith(";base64")):
        raise _refused(f"{where} must be a data:<media type>;base64,<data> URL")
    media_type = head[5:].split(";", 1)[0].strip().lower()
    return media_type, decode_base64(payload, where)


def image_block(image_format: str, data: bytes, where: str) -> Block:
    """A Converse image block, once the bytes are an image of `image_format` within Bedrock's size."""
    if image_format not in IMAGE_FORMATS:
        raise _refused(f"{where}: images must be one of {', '.join(IMAGE_FORMATS)}")
    if len(data) > MAX_IMAGE_BYTES:
        raise _refused(f"{where}: an image may hold at most {MAX_IMAGE_BYTES} bytes")
    if not _looks_like(image_format, data):
        raise _refused(f"{where}: the bytes are not a {image_format} image")
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def document_block(document_format: str, data: bytes, where: str, *, number: int) -> Block:
    """A Converse document block named `document-<number>`: Bedrock shows the name to the model, so it
    is never the caller's file name (a prompt-injection vector)."""
    if document_format not in DOCUMENT_FORMATS:
        raise _refused(f"{where}: documents must be one of {', '.join(DOCUMENT_FORMATS)}")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _refused(f"{where}: a document may hold at most {MAX_DOCUMENT_BYTES} bytes")
    if not _looks_like(document_format, data):
        raise _refused(f"{where}: the bytes are not a {document_format} document")
    return {"document": {"name": f"document-{number}", "format": document_format, "source": {"bytes": data}}}


def check_message(blocks: Sequence[Block], text: str, where: str) -> None:
    """Bedrock's per-message limits: images and documents counted, and a document needs text beside it."""
    images = sum(1 for block in blocks if "image" in block)
    documents = sum(1 for block in blocks if "document" in block)
    if images > MAX_IMAGES_PER_MESSAGE:
        raise _refused(f"{where} holds more than {MAX_IMAGES_PER_MESSAGE} images")
    if documents > MAX_DOCUMENTS_PER_MESSAGE:
        raise _refused(f"{where} holds more than {MAX_DOCUMENTS_PER_MESSAGE} documents")
    if documents and not text:
        raise _refused(f"{where} attaches a document, so it must also hold text")


def _looks_like(kind: str, data: bytes) -> bool:
    if kind == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if kind in _TEXT_FORMATS:
        return _is_text(data)
    return data.startswith(_SIGNATURES[kind])


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
