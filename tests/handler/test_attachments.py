"""Images and documents as Converse blocks (`attachments`): strict base64, `data:` URLs (remote URLs refused),
the magic bytes of every format, the size limits at and one byte above them, the per-message counts and
the neutral document names.

Expected blocks and limits are written out by hand (3_750_000 image bytes, 4_500_000 document bytes,
20 images, 5 documents: Bedrock's `Message` limits), not read from the module under test.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from bedrock_handler import attachments
from bedrock_handler.errors import RequestError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
GIF87 = b"GIF87a\x01\x00\x01\x00"
GIF89 = b"GIF89a\x01\x00\x01\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ZIP = b"PK\x03\x04\x14\x00\x06\x00"  # the container of docx and xlsx
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"  # the container of doc and xls
IMAGE_LIMIT = 3_750_000
DOCUMENT_LIMIT = 4_500_000
WHERE = "messages[0].content[1]"


def refused(call: Any, *args: Any, **kwargs: Any) -> RequestError:
    """The `RequestError` `call` raises; every attachment refusal names the `messages` field."""
    with pytest.raises(RequestError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert (error.status, error.error_type, error.param) == (400, "invalid_request", "messages")
    return error


# --- base64 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aGk=", b"hi"),
        ("aGV5", b"hey"),
        ("aA==", b"h"),
        ("AAEC/w==", b"\x00\x01\x02\xff"),
        ("+/+/", b"\xfb\xff\xbf"),
    ],
)
def test_base64_is_decoded(text: str, expected: bytes) -> None:
    assert attachments.decode_base64(text, "x") == expected


@pytest.mark.parametrize(
    "text",
    [
        "aGk",  # padding missing
        "aA=",  # padding short
        "aGk=aGk=",  # padding in the middle
        "aG k=",  # a space
        "aGk=\n",  # a trailing newline
        "\naGk=",
        "-_-_",  # the URL-safe alphabet
        "aGk*",
        "====",
        "=aGk",
        "aGké=",  # not ASCII
        "a",
    ],
)
def test_base64_is_strict(text: str) -> None:
    error = refused(attachments.decode_base64, text, "messages[2].content[0].file.file_data")
    assert error.message == "messages[2].content[0].file.file_data is not valid base64"


@pytest.mark.parametrize("value", ["", None, 0, b"aGk=", ["aGk="], {"bytes": "aGk="}])
def test_base64_must_be_a_non_empty_string(value: object) -> None:
    error = refused(attachments.decode_base64, value, "where")
    assert error.message == "where must be a non-empty base64 string"


def test_base64_refusal_never_quotes_the_value() -> None:
    error = refused(attachments.decode_base64, "secret-okapi-bytes", "where")
    assert "okapi" not in error.message


# --- data: URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("data:image/png;base64,aGk=", ("image/png", b"hi")),
        ("DATA:Image/PNG;BASE64,aGk=", ("image/png", b"hi")),
        ("data:image/jpeg;name=cat.jpg;base64,aGV5", ("image/jpeg", b"hey")),
        ("data: application/pdf ;base64,aA==", ("application/pdf", b"h")),
        ("data:;base64,aGk=", ("", b"hi")),
        ("data:text/plain;charset=utf-8;base64,aGk=", ("text/plain", b"hi")),
    ],
)
def test_data_url_gives_media_type_and_bytes(url: str, expected: tuple[str, bytes]) -> None:
    assert attachments.data_url(url, "u") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/cat.png",
        "https://example.com/cat.png",
        "HTTPS://EXAMPLE.COM/CAT.PNG",
        "Http://x",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_remote_urls_are_refused_never_fetched(url: str) -> None:
    error = refused(attachments.data_url, url, "messages[0].content[1].image_url.url")
    assert error.message == (
        "messages[0].content[1].image_url.url: remote URLs are not fetched; "
        "send the content as a data: URL (base64)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png,aGk=",  # not base64-encoded
        "data:image/png;base64",  # no comma
        "data:image/png;base64;x,aGk=",  # ;base64 not last
        "image/png;base64,aGk=",  # no scheme
        "dat:image/png;base64,aGk=",
        "ftp://example.com/cat.png",
        "file:///etc/passwd",
        "aGk=",
    ],
)
def test_malformed_data_url_heads_are_refused(url: str) -> None:
    error = refused(attachments.data_url, url, "u")
    assert error.message == "u must be a data:<media type>;base64,<data> URL"


@pytest.mark.parametrize("url", ["", None, 7, {"url": "data:image/png;base64,aGk="}])
def test_data_url_must_be_a_string(url: object) -> None:
    assert refused(attachments.data_url, url, "u").message == "u must be a data: URL"


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,",  # empty data
        "data:image/png;base64,aGk",  # padding missing
        "data:text/plain;base64,hello world",
        "data:image/png;base64,aGk=,aGk=",
        "data:image/png;base64,%2F%2F8%3D",  # percent-encoded
    ],
)
def test_data_url_payload_is_strict_base64(url: str) -> None:
    message = refused(attachments.data_url, url, "u").message
    assert message in ("u is not valid base64", "u must be a non-empty base64 string")


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "data"),
    [("png", PNG), ("jpeg", JPEG), ("gif", GIF87), ("gif", GIF89), ("webp", WEBP)],
)
def test_image_block_for_every_format(image_format: str, data: bytes) -> None:
    assert attachments.image_block(image_format, data, WHERE) == {
        "image": {"format": image_format, "source": {"bytes": data}}
    }


@pytest.mark.parametrize(
    ("image_format", "data"),
    [
        ("jpeg", PNG),  # a png declared as jpeg
        ("png", JPEG),
        ("gif", PNG),
        ("webp", PNG),
        ("png", b"\x89PNG\r\n\x1a"),  # one byte short of the signature
        ("jpeg", b"\xff\xd8"),
        ("gif", b"GIF88a\x00"),
        ("webp", b"RIFF\x24\x00\x00\x00WAVEfmt "),  # a RIFF that is not WebP
        ("webp", b"RIFX\x24\x00\x00\x00WEBPVP8 "),
        ("webp", b"RIFF\x24\x00\x00\x00WEB"),
        ("png", b"\x00" + PNG),
    ],
)
def test_image_bytes_must_match_the_declared_format(image_format: str, data: bytes) -> None:
    error = refused(attachments.image_block, image_format, data, WHERE)
    assert error.message == f"{WHERE}: the bytes are not a {image_format} image"


@pytest.mark.parametrize("image_format", ["jpg", "bmp", "tiff", "svg", "PNG", "", "pdf"])
def test_unknown_image_formats_are_refused(image_format: str) -> None:
    error = refused(attachments.image_block, image_format, PNG, WHERE)
    assert error.message == f"{WHERE}: images must be one of png, jpeg, gif, webp"


def test_image_size_limit_is_inclusive() -> None:
    at_limit = PNG + b"\x00" * (IMAGE_LIMIT - len(PNG))
    assert len(at_limit) == 3_750_000
    assert attachments.image_block("png", at_limit, WHERE)["image"]["source"]["bytes"] is at_limit
    error = refused(attachments.image_block, "png", at_limit + b"\x00", WHERE)
    assert error.message == f"{WHERE}: an image may hold at most 3750000 bytes"


# --- documents ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document_format", "data"),
    [
        ("pdf", PDF),
        ("docx", ZIP),
        ("xlsx", ZIP),
        ("doc", OLE),
        ("xls", OLE),
        ("csv", b"a,b\n1,2\n"),
        ("html", b"<p>caf\xc3\xa9</p>"),
        ("txt", "plain text, naïve 日本".encode()),
        ("md", b"# title\n\n- item\n"),
    ],
)
def test_document_block_for_every_format(document_format: str, data: bytes) -> None:
    assert attachments.document_block(document_format, data, WHERE, number=3) == {
        "document": {"name": "document-3", "format": document_format, "source": {"bytes": data}}
    }


@pytest.mark.parametrize(
    ("document_format", "data"),
    [
        ("pdf", ZIP),
        ("pdf", b"%PDF"),  # the dash missing
        ("pdf", b" %PDF-1.7"),
        ("docx", OLE),  # a .doc declared as .docx
        ("xlsx", PDF),
        ("doc", ZIP),  # a .docx declared as .doc
        ("xls", PDF),
        ("doc", b"\xd0\xcf\x11\xe0"),
        ("txt", b"nul\x00inside"),  # text formats hold no NUL byte
        ("csv", b"\x00"),
        ("md", b"\xff\xfe#\x00 \x00t\x00"),  # UTF-16
        ("html", b"caf\xe9"),  # Latin-1, not UTF-8
        ("txt", b"\xc3"),  # a truncated UTF-8 sequence
        ("txt", PDF),
    ],
)
def test_document_bytes_must_match_the_declared_format(document_format: str, data: bytes) -> None:
    error = refused(attachments.document_block, document_format, data, WHERE, number=1)
    assert error.message == f"{WHERE}: the bytes are not a {document_format} document"


@pytest.mark.parametrize("document_format", ["rtf", "odt", "PDF", "markdown", "json", "", "png"])
def test_unknown_document_formats_are_refused(document_format: str) -> None:
    error = refused(attachments.document_block, document_format, b"text", WHERE, number=1)
    assert error.message == (
        f"{WHERE}: documents must be one of pdf, csv, doc, docx, xls, xlsx, html, txt, md"
    )


@pytest.mark.parametrize(("document_format", "head"), [("pdf", PDF), ("docx", ZIP), ("txt", b"t")])
def test_document_size_limit_is_inclusive(document_format: str, head: bytes) -> None:
    at_limit = head + b"a" * (DOCUMENT_LIMIT - len(head))
    assert len(at_limit) == 4_500_000
    block = attachments.document_block(document_format, at_limit, WHERE, number=1)
    assert block["document"]["source"]["bytes"] is at_limit
    error = refused(attachments.document_block, document_format, at_limit + b"a", WHERE, number=1)
    assert error.message == f"{WHERE}: a document may hold at most 4500000 bytes"


def test_document_name_is_neutral_and_numbered() -> None:
    names = [attachments.document_block("txt", b"x", WHERE, number=n)["document"]["name"] for n in (1, 2, 10)]
    assert names == ["document-1", "document-2", "document-10"]


# --- per-message limits ---------------------------------------------------------------------------


def images(count: int) -> list[dict[str, Any]]:
    return [{"image": {"format": "png", "source": {"bytes": PNG}}} for _ in range(count)]


def documents(count: int) -> list[dict[str, Any]]:
    return [
        {"document": {"name": f"document-{n}", "format": "txt", "source": {"bytes": b"t"}}}
        for n in range(1, count + 1)
    ]


def test_twenty_images_and_five_documents_fit_one_message() -> None:
    attachments.check_message([*images(20), *documents(5)], "read these", "messages[3]")
    attachments.check_message(images(20), "", "messages[3]")  # images need no text


def test_twenty_one_images_are_refused() -> None:
    error = refused(attachments.check_message, images(21), "look", "messages[3]")
    assert error.message == "messages[3] holds more than 20 images"


def test_six_documents_are_refused() -> None:
    error = refused(attachments.check_message, documents(6), "read", "messages[3]")
    assert error.message == "messages[3] holds more than 5 documents"


def test_a_document_needs_text_beside_it() -> None:
    error = refused(attachments.check_message, documents(1), "", "messages[3]")
    assert error.message == "messages[3] attaches a document, so it must also hold text"


def test_other_blocks_do_not_count() -> None:
    result = {"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}
    attachments.check_message([result] * 30, "", "messages[1]")


def test_base64_round_trip_of_an_image_data_url() -> None:
    url = "data:image/webp;base64," + base64.b64encode(WEBP).decode()
    media_type, data = attachments.data_url(url, "u")
    assert attachments.image_block(attachments.IMAGE_MEDIA_TYPES[media_type], data, "u") == {
        "image": {"format": "webp", "source": {"bytes": WEBP}}
    }
