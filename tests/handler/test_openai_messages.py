"""The OpenAI API's conversation (`openai_messages.conversation`): tool calls -> toolUse blocks, tool
messages -> toolResult blocks in one user turn, calls and results paired both ways, `image_url` and
`file` parts -> image and document blocks, `reasoning_details` sent back -> reasoningContent blocks,
system and developer messages merged into the system prompt; and every refusal, a 400 on `messages`.

Expected turns are written out by hand as `Message`s holding the exact Converse blocks.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from bedrock_handler.chat import Message
from bedrock_handler.errors import RequestError
from bedrock_handler.openai_messages import conversation

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PDF = b"%PDF-1.7\n1 0 obj\n"
DOCX = b"PK\x03\x04\x14\x00\x06\x00"
USER = {"role": "user", "content": "hi"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{b64(data)}"


def call(call_id: str, name: str = "weather", arguments: str = '{"city": "Oslo"}') -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def asks(*calls: dict[str, Any], content: Any = None, **fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls), **fields}


def answer(call_id: str, content: Any = "sunny") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def tool_use(call_id: str, name: str = "weather", arguments: Any = None) -> dict[str, Any]:
    value = {"city": "Oslo"} if arguments is None else arguments
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": value}}


def tool_result(call_id: str, text: str = "sunny") -> dict[str, Any]:
    return {"toolResult": {"toolUseId": call_id, "content": [{"text": text}]}}


def image(image_format: str, data: bytes) -> dict[str, Any]:
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def document(number: int, document_format: str, data: bytes) -> dict[str, Any]:
    return {"document": {"name": f"document-{number}", "format": document_format, "source": {"bytes": data}}}


def user_parts(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image_part(url: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def file_part(**file: Any) -> dict[str, Any]:
    return {"type": "file", "file": file}


def refusal(messages: Any) -> RequestError:
    """The refusal of `messages`: a 400 whose `param` is `messages` (or a path inside it)."""
    with pytest.raises(RequestError) as caught:
        conversation(messages)
    error = caught.value
    assert (error.status, error.error_type) == (400, "invalid_request")
    assert error.param is not None and error.param.startswith("messages"), error.param
    return error


# --- tool calls and results -----------------------------------------------------------------------


def test_a_tool_round_trip() -> None:
    messages = [
        {"role": "user", "content": "weather in Oslo and Bergen?"},
        asks(call("call_1"), call("call_2", arguments='{"city": "Bergen"}')),
        answer("call_1", "rain"),
        answer("call_2", [{"type": "text", "text": "sun"}, {"type": "text", "text": "wind"}]),
        {"role": "user", "content": "thanks; and tomorrow?"},
    ]
    assert conversation(messages) == (
        None,
        (
            Message("user", "weather in Oslo and Bergen?"),
            Message(
                "assistant", "", (), (tool_use("call_1"), tool_use("call_2", arguments={"city": "Bergen"}))
            ),
            Message(
                "user",
                "thanks; and tomorrow?",
                (tool_result("call_1", "rain"), tool_result("call_2", "sun\nwind")),
            ),
        ),
    )


def test_tool_results_may_end_the_conversation() -> None:
    _, turns = conversation([USER, asks(call("c1")), answer("c1")])
    assert turns[-1] == Message("user", "", (tool_result("c1"),))


def test_assistant_text_with_tool_calls() -> None:
    _, turns = conversation([USER, asks(call("c1"), content="Let me check."), answer("c1")])
    assert turns[1] == Message("assistant", "Let me check.", (), (tool_use("c1"),))


def test_assistant_text_parts_and_refusal_parts_with_tool_calls() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "b"}]
    _, turns = conversation([USER, asks(call("c1"), content=content), answer("c1")])
    assert turns[1] == Message("assistant", "a\nb", (), (tool_use("c1"),))


@pytest.mark.parametrize(
    ("arguments", "expected"), [("", {}), ("  ", {}), ("{}", {}), ('{"n": [1]}', {"n": [1]})]
)
def test_arguments_are_parsed(arguments: str, expected: dict[str, Any]) -> None:
    _, turns = conversation([USER, asks(call("c1", "clock", arguments)), answer("c1")])
    assert turns[1].trailing == (tool_use("c1", "clock", expected),)


def test_consecutive_assistant_tool_calls_merge_into_one_turn() -> None:
    messages = [USER, asks(call("c1")), asks(call("c2", "clock", "")), answer("c1"), answer("c2", "noon")]
    _, turns = conversation(messages)
    assert turns[1:] == (
        Message("assistant", "", (), (tool_use("c1"), tool_use("c2", "clock", {}))),
        Message("user", "", (tool_result("c1"), tool_result("c2", "noon"))),
    )


@pytest.mark.parametrize("content", ["", []])
def test_an_empty_assistant_content_beside_tool_calls_is_no_text(content: object) -> None:
    """SDKs such as the Vercel AI SDK send `content: ""` with tool calls; OpenAI accepts it."""
    _, turns = conversation([USER, asks(call("c1"), content=content), answer("c1")])
    assert turns[1] == Message("assistant", "", (), (tool_use("c1"),))


def test_an_empty_assistant_content_without_tool_calls_is_refused() -> None:
    error = refusal([USER, {"role": "assistant", "content": ""}, USER])
    assert error.message == "messages[1].content must not be empty"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{", "messages[1].tool_calls[0].function.arguments is not valid JSON"),
        ("{'a': 1}", "messages[1].tool_calls[0].function.arguments is not valid JSON"),
        ("[1, 2]", "messages[1].tool_calls[0].function.arguments must be a JSON object"),
        ("42", "messages[1].tool_calls[0].function.arguments must be a JSON object"),
        ("null", "messages[1].tool_calls[0].function.arguments must be a JSON object"),
    ],
)
def test_bad_arguments_are_refused(arguments: str, message: str) -> None:
    assert refusal([USER, asks(call("c1", arguments=arguments)), answer("c1")]).message == message


def test_arguments_as_an_object_are_refused() -> None:
    tool_call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
    error = refusal([USER, asks(tool_call), answer("c1")])
    assert error.message == "messages[1].tool_calls[0].function.arguments must be a string of JSON"


@pytest.mark.parametrize("call_id", ["", "call 1", "c" * 65, "call/1", 7, None])
def test_call_id_pattern(call_id: object) -> None:
    tool_call = {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
    error = refusal([USER, asks(tool_call), answer("c1")])
    assert (
        error.message == "messages[1].tool_calls[0].id must be 1 to 64 of the characters a-z A-Z 0-9 _ . : -"
    )


@pytest.mark.parametrize("tool_call_id", ["", "call 1", "c" * 65, 7])
def test_tool_call_id_pattern(tool_call_id: object) -> None:
    error = refusal([USER, asks(call("c1")), answer(tool_call_id)])  # type: ignore[arg-type]
    assert error.message == "messages[2].tool_call_id must be 1 to 64 of the characters a-z A-Z 0-9 _ . : -"


def test_a_tool_message_needs_its_call_id() -> None:
    error = refusal([USER, asks(call("c1")), {"role": "tool", "content": "x"}])
    assert error.message == "messages[2].tool_call_id must be 1 to 64 of the characters a-z A-Z 0-9 _ . : -"


NOT_A_CALL = "messages[1].tool_calls[0] must be a function call ({'type': 'function', ...})"
BAD_NAME = "messages[1].tool_calls[0].function.name must be a valid tool name"


@pytest.mark.parametrize(
    ("tool_call", "message"),
    [
        ({"id": "c1", "function": {"name": "f", "arguments": "{}"}}, NOT_A_CALL),
        ({"id": "c1", "type": "custom", "custom": {"name": "f"}}, NOT_A_CALL),
        ("c1", NOT_A_CALL),
        ({"id": "c1", "type": "function"}, BAD_NAME),
        ({"id": "c1", "type": "function", "function": {"name": "get weather"}}, BAD_NAME),
        ({"id": "c1", "type": "function", "function": {"arguments": "{}"}}, BAD_NAME),
    ],
)
def test_malformed_tool_calls(tool_call: object, message: str) -> None:
    assert refusal([USER, asks(tool_call), answer("c1")]).message == message  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [[], {}, "call", 1])
def test_tool_calls_must_be_a_non_empty_list(value: object) -> None:
    error = refusal([USER, {"role": "assistant", "content": "a", "tool_calls": value}, USER])
    assert error.message == "messages[1].tool_calls must be a non-empty list"


def test_null_tool_calls_are_none() -> None:
    _, turns = conversation([USER, {"role": "assistant", "content": "a", "tool_calls": None}, USER])
    assert turns[1] == Message("assistant", "a")


def test_a_call_without_an_answer_is_refused() -> None:
    error = refusal([USER, asks(call("c1"), call("c2")), answer("c1"), USER])
    assert error.message == "tool call 'c2' has no tool message answering it after its assistant message"


def test_a_call_answered_too_late_is_refused() -> None:
    messages = [USER, asks(call("c1")), {"role": "user", "content": "wait"}]
    messages += [{"role": "assistant", "content": "ok"}, answer("c1")]
    error = refusal(messages)
    assert error.message == "tool call 'c1' has no tool message answering it after its assistant message"


def test_an_answer_to_no_call_is_refused() -> None:
    error = refusal([USER, asks(call("c1")), answer("c1"), answer("c9")])
    assert error.message == "tool message answers 'c9', which the assistant message before it did not call"


def test_an_answer_before_any_call_is_refused() -> None:
    error = refusal([answer("c1"), USER])
    assert error.message == "tool message answers 'c1', which the assistant message before it did not call"


def test_an_answer_to_an_older_call_is_refused() -> None:
    messages = [USER, asks(call("c1")), answer("c1"), {"role": "assistant", "content": "done"}, answer("c1")]
    error = refusal(messages)
    assert error.message == "tool message answers 'c1', which the assistant message before it did not call"


def test_an_assistant_tool_call_turn_cannot_end_the_conversation() -> None:
    assert refusal([USER, asks(call("c1"))]).message == "the last message must be a user or tool message"


def test_duplicate_call_ids_in_one_assistant_turn_are_refused() -> None:
    """Bedrock refuses a toolUseId used twice in one message (a 502 when sent on)."""
    error = refusal([USER, asks(call("c1"), call("c1", "clock", "{}")), answer("c1")])
    assert error.message == "tool call id 'c1' is used twice in one assistant turn"


def test_duplicate_call_ids_across_merged_assistant_messages_are_refused() -> None:
    error = refusal([USER, asks(call("c1")), asks(call("c1", "clock", "{}")), answer("c1")])
    assert error.message == "tool call id 'c1' is used twice in one assistant turn"


def test_the_same_call_id_in_two_rounds_is_accepted() -> None:
    messages = [USER, asks(call("c1")), answer("c1"), asks(call("c1", "clock", "{}")), answer("c1", "noon")]
    _, turns = conversation(messages)
    assert [turn.trailing for turn in turns] == [
        (),
        (tool_use("c1"),),
        (),
        (tool_use("c1", "clock", {}),),
        (),
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "x", "tool_calls": [call("c1")]}, "tool_calls"),
        ({"role": "user", "content": "x", "tool_call_id": "c1"}, "tool_call_id"),
        ({"role": "system", "content": "x", "tool_calls": [call("c1")]}, "tool_calls"),
        ({"role": "tool", "content": "x", "tool_call_id": "c1", "tool_calls": [call("c2")]}, "tool_calls"),
        ({"role": "user", "content": "x", "reasoning_details": []}, "reasoning_details"),
        ({"role": "assistant", "content": "x", "function_call": {"name": "f"}}, "function_call"),
    ],
)
def test_fields_of_another_role_are_refused(message: dict[str, Any], field: str) -> None:
    assert refusal([message, USER]).message == f"messages[0].{field} is not supported"


# --- images -----------------------------------------------------------------------------------------


def test_image_url_data_urls_become_image_blocks() -> None:
    messages = [
        user_parts(
            text("compare"),
            image_part(data_url("image/png", PNG), detail="high"),
            image_part(data_url("image/jpeg", JPEG)),
            text("please"),
            image_part(data_url("image/jpg", JPEG), detail="auto"),
        )
    ]
    assert conversation(messages) == (
        None,
        (Message("user", "compare\nplease", (image("png", PNG), image("jpeg", JPEG), image("jpeg", JPEG))),),
    )


def test_an_image_alone_is_a_turn() -> None:
    assert conversation([user_parts(image_part(data_url("image/png", PNG)))])[1] == (
        Message("user", "", (image("png", PNG),)),
    )


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://127.0.0.1/x.png"])
def test_remote_image_urls_are_refused(url: str) -> None:
    error = refusal([user_parts(text("look"), image_part(url))])
    assert error.message == (
        "messages[0].content[1].image_url.url: remote URLs are not fetched; "
        "send the content as a data: URL (base64)"
    )


@pytest.mark.parametrize("media_type", ["image/svg+xml", "image/bmp", "application/pdf", "text/plain", ""])
def test_image_media_types_outside_bedrocks_formats_are_refused(media_type: str) -> None:
    error = refusal([user_parts(text("look"), image_part(data_url(media_type, PNG)))])
    assert error.message == "messages[0].content[1].image_url.url: images must be one of png, jpeg, gif, webp"


def test_a_png_declared_as_jpeg_is_refused() -> None:
    error = refusal([user_parts(text("look"), image_part(data_url("image/jpeg", PNG)))])
    assert error.message == "messages[0].content[1]: the bytes are not a jpeg image"


def test_bad_base64_in_an_image_is_refused() -> None:
    error = refusal([user_parts(text("look"), image_part("data:image/png;base64,iVBORw0KGgo"))])
    assert error.message == "messages[0].content[1].image_url.url is not valid base64"


@pytest.mark.parametrize(
    ("part", "problem"),
    [
        (
            {"type": "image_url", "image_url": "data:image/png;base64,aGk="},
            "image_url must be an object with a url",
        ),
        ({"type": "image_url"}, "image_url must be an object with a url"),
        (image_part("data:image/png;base64,aGk=", format="png"), "image_url.format is not supported"),
        ({"type": "image_url", "image_url": {}}, "image_url.url must be a data: URL"),
        ({"type": "image_url", "image_url": {"url": "x"}, "x": 1}, "x is not supported"),
    ],
)
def test_malformed_image_parts(part: dict[str, Any], problem: str) -> None:
    assert refusal([user_parts(part)]).message == f"messages[0].content[0].{problem}"


def test_twenty_images_fit_a_turn_twenty_one_do_not() -> None:
    twenty = [image_part(data_url("image/png", PNG)) for _ in range(20)]
    assert len(conversation([user_parts(text("many"), *twenty)])[1][0].leading) == 20
    error = refusal([user_parts(text("many"), *twenty, image_part(data_url("image/png", PNG)))])
    assert error.message == "messages holds more than 20 images"


def test_images_are_counted_per_merged_turn() -> None:
    ten = [image_part(data_url("image/png", PNG)) for _ in range(10)]
    error = refusal([user_parts(*ten), user_parts(*ten, image_part(data_url("image/png", PNG)))])
    assert error.message == "messages holds more than 20 images"


@pytest.mark.parametrize("role", ["system", "developer", "assistant", "tool"])
def test_images_only_in_user_messages(role: str) -> None:
    message: dict[str, Any] = {"role": role, "content": [image_part(data_url("image/png", PNG))]}
    if role == "tool":
        message["tool_call_id"] = "c1"
    messages = [USER, asks(call("c1")), message] if role == "tool" else [USER, message, USER]
    index = len(messages) - 1 if role == "tool" else 1
    error = refusal(messages)
    allowed = "text, refusal" if role == "assistant" else "text"
    assert error.message == (
        f"messages[{index}].content[0].type 'image_url' is not supported here; send {allowed} parts"
    )


# --- files ------------------------------------------------------------------------------------------


def test_file_data_url_with_a_document_media_type() -> None:
    messages = [
        user_parts(text("summarize"), file_part(file_data=data_url("application/pdf", PDF), filename="x.txt"))
    ]
    assert conversation(messages)[1] == (Message("user", "summarize", (document(1, "pdf", PDF),)),)


@pytest.mark.parametrize(
    ("media_type", "document_format", "data"),
    [
        ("application/pdf", "pdf", PDF),
        ("text/csv", "csv", b"a,b\n"),
        ("application/msword", "doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", DOCX),
        ("application/vnd.ms-excel", "xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", DOCX),
        ("text/html", "html", b"<p>x</p>"),
        ("text/plain", "txt", b"plain"),
        ("text/markdown", "md", b"# md"),
        ("TEXT/PLAIN", "txt", b"upper"),
    ],
)
def test_every_document_media_type(media_type: str, document_format: str, data: bytes) -> None:
    messages = [user_parts(text("read"), file_part(file_data=data_url(media_type, data)))]
    assert conversation(messages)[1][0].leading == (document(1, document_format, data),)


@pytest.mark.parametrize(
    ("filename", "document_format", "data"),
    [
        ("report.pdf", "pdf", PDF),
        ("REPORT.PDF", "pdf", PDF),
        ("notes.final.md", "md", b"# notes"),
        ("table.csv", "csv", b"a,b"),
        ("memo.docx", "docx", DOCX),
        ("page.html", "html", b"<b>x</b>"),
    ],
)
def test_bare_base64_with_a_filename_extension(filename: str, document_format: str, data: bytes) -> None:
    messages = [user_parts(text("read"), file_part(file_data=b64(data), filename=filename))]
    assert conversation(messages)[1][0].leading == (document(1, document_format, data),)


def test_a_file_with_an_image_media_type_is_an_image_block() -> None:
    messages = [user_parts(text("see"), file_part(file_data=data_url("image/png", PNG), filename="cat.pdf"))]
    assert conversation(messages)[1][0].leading == (image("png", PNG),)


def test_documents_are_numbered_across_the_request() -> None:
    messages = [
        user_parts(text("one"), file_part(file_data=b64(PDF), filename="secret-plan.pdf")),
        {"role": "assistant", "content": "ok"},
        user_parts(
            text("two"),
            file_part(file_data=data_url("text/plain", b"a")),
            file_part(file_data=b64(b"b"), filename="b.txt"),
        ),
    ]
    _, turns = conversation(messages)
    assert turns[0].leading == (document(1, "pdf", PDF),)
    assert turns[2].leading == (document(2, "txt", b"a"), document(3, "txt", b"b"))


def test_a_document_without_text_is_refused() -> None:
    error = refusal([user_parts(file_part(file_data=b64(PDF), filename="a.pdf"))])
    assert error.message == "messages attaches a document, so it must also hold text"


def test_a_document_with_text_in_the_merged_turn_is_accepted() -> None:
    messages = [
        user_parts(file_part(file_data=b64(PDF), filename="a.pdf")),
        {"role": "user", "content": "this"},
    ]
    assert conversation(messages)[1] == (Message("user", "this", (document(1, "pdf", PDF),)),)


def test_five_documents_fit_a_turn_six_do_not() -> None:
    five = [file_part(file_data=b64(b"t"), filename="t.txt") for _ in range(5)]
    assert len(conversation([user_parts(text("read"), *five)])[1][0].leading) == 5
    error = refusal([user_parts(text("read"), *five, file_part(file_data=b64(b"t"), filename="t.txt"))])
    assert error.message == "messages holds more than 5 documents"


NO_TYPE = (
    ".file: give a data: URL with a document media type, or a filename ending in one of "
    ".pdf, .csv, .doc, .docx, .xls, .xlsx, .html, .txt, .md"
)


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        ({"file_id": "file-abc"}, ".file.file_id is not supported: send file_data"),
        ({"file_id": "file-abc", "file_data": b64(PDF)}, ".file.file_id is not supported: send file_data"),
        ({"file_data": b64(PDF)}, NO_TYPE),
        ({"file_data": b64(PDF), "filename": "report"}, NO_TYPE),
        ({"file_data": b64(PDF), "filename": "report.rtf"}, NO_TYPE),
        ({"file_data": b64(PDF), "filename": "pdf"}, NO_TYPE),
        ({"file_data": data_url("application/zip", DOCX)}, NO_TYPE),
        ({"file_data": b64(PDF), "filename": 5}, ".file.filename must be a string"),
        ({"file_data": b64(PDF), "filename": "a.pdf", "format": "pdf"}, ".file.format is not supported"),
        (
            {"file_data": "https://example.com/a.pdf", "filename": "a.pdf"},
            ".file.file_data is not valid base64",
        ),
        (
            {"file_data": "data:application/pdf,%PDF-1.7"},
            ".file.file_data must be a data:<media type>;base64,<data> URL",
        ),
        ({"file_data": "", "filename": "a.pdf"}, ".file.file_data must be a non-empty base64 string"),
        ({"filename": "a.pdf"}, ".file.file_data must be a non-empty base64 string"),
        ({"file_data": b64(DOCX), "filename": "a.pdf"}, ": the bytes are not a pdf document"),
        (
            {"file_data": data_url("text/plain", b"nul\x00"), "filename": "a.txt"},
            ": the bytes are not a txt document",
        ),
    ],
)
def test_file_refusals(file: dict[str, Any], problem: str) -> None:
    error = refusal([user_parts(text("read"), file_part(**file))])
    assert error.message == "messages[0].content[1]" + problem


@pytest.mark.parametrize("file", ["a.pdf", None, ["x"]])
def test_file_must_be_an_object(file: object) -> None:
    error = refusal([user_parts(text("read"), {"type": "file", "file": file})])
    assert error.message == "messages[0].content[1].file must be an object"


@pytest.mark.parametrize("kind", ["input_audio", "refusal", "video_url", "Image_url", "", None, 3])
def test_unknown_user_part_types_are_refused(kind: object) -> None:
    error = refusal([user_parts(text("x"), {"type": kind})])
    shown = repr(kind) if isinstance(kind, str) else repr(type(kind).__name__)
    assert (
        error.message
        == f"messages[0].content[1].type {shown} is not supported here; send text, image_url, file parts"
    )


def test_a_refusal_never_quotes_a_filename_or_data() -> None:
    error = refusal([user_parts(text("x"), file_part(file_data=b64(b"okapi-data"), filename="okapi.exe"))])
    assert "okapi" not in error.message and b64(b"okapi-data") not in error.message


# --- reasoning sent back ----------------------------------------------------------------------------


def test_reasoning_details_become_reasoning_blocks_in_order() -> None:
    details = [
        {"type": "reasoning.text", "text": "first, ", "signature": "sig-1", "index": 0},
        {"type": "reasoning.encrypted", "data": b64(b"\x00redacted\xff"), "index": 1},
        {"type": "reasoning.text", "text": "", "signature": "sig-3", "format": "anthropic-claude-v1"},
    ]
    messages = [USER, {"role": "assistant", "content": "answer", "reasoning_details": details}, USER]
    assert conversation(messages)[1][1] == Message(
        "assistant",
        "answer",
        (
            {"reasoningContent": {"reasoningText": {"text": "first, ", "signature": "sig-1"}}},
            {"reasoningContent": {"redactedContent": b"\x00redacted\xff"}},
            {"reasoningContent": {"reasoningText": {"text": "", "signature": "sig-3"}}},
        ),
    )


def test_reasoning_with_tool_calls() -> None:
    details = [{"type": "reasoning.text", "text": "look it up", "signature": "s"}]
    messages = [USER, asks(call("c1"), reasoning_details=details), answer("c1")]
    assert conversation(messages)[1][1] == Message(
        "assistant",
        "",
        ({"reasoningContent": {"reasoningText": {"text": "look it up", "signature": "s"}}},),
        (tool_use("c1"),),
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "reasoning.text", "text": "unsigned"},
        {"type": "reasoning.text", "text": "unsigned", "signature": None},
        {"type": "reasoning.summary", "summary": "in short"},
        {"type": "reasoning.other", "text": "x", "signature": "s"},
        {"text": "x", "signature": "s"},
        {},
    ],
)
def test_entries_without_signature_or_of_other_types_are_dropped(entry: dict[str, Any]) -> None:
    details = [entry, {"type": "reasoning.text", "text": "kept", "signature": "s"}]
    messages = [USER, {"role": "assistant", "content": "a", "reasoning_details": details}, USER]
    assert conversation(messages)[1][1].leading == (
        {"reasoningContent": {"reasoningText": {"text": "kept", "signature": "s"}}},
    )


def test_reasoning_content_and_reasoning_strings_are_ignored() -> None:
    messages = [USER, {"role": "assistant", "content": "a", "reasoning_content": "r", "reasoning": "r"}, USER]
    assert conversation(messages)[1][1] == Message("assistant", "a")


def test_empty_and_null_reasoning_details() -> None:
    details: list[Any] | None
    for details in ([], None):
        messages = [USER, {"role": "assistant", "content": "a", "reasoning_details": details}, USER]
        assert conversation(messages)[1][1] == Message("assistant", "a")


@pytest.mark.parametrize(
    ("details", "problem"),
    [
        ({"type": "reasoning.text"}, " must be a list"),
        ("thinking", " must be a list"),
        (["x"], "[0] must be an object"),
        (
            [{"type": "reasoning.text", "text": 5, "signature": "s"}],
            "[0] needs a text and a signature string",
        ),
        ([{"type": "reasoning.text", "signature": "s"}], "[0] needs a text and a signature string"),
        (
            [{"type": "reasoning.text", "text": "t", "signature": ""}],
            "[0] needs a text and a signature string",
        ),
        (
            [{"type": "reasoning.text", "text": "t", "signature": 7}],
            "[0] needs a text and a signature string",
        ),
        (
            [{"type": "reasoning.text", "text": "\ud800", "signature": "s"}],
            "[0].text is not valid Unicode (lone surrogate)",
        ),
        ([{"type": "reasoning.encrypted", "data": "not base64!"}], "[0].data is not valid base64"),
        ([{"type": "reasoning.encrypted"}], "[0].data must be a non-empty base64 string"),
    ],
)
def test_reasoning_details_refusals(details: object, problem: str) -> None:
    messages = [USER, {"role": "assistant", "content": "a", "reasoning_details": details}, USER]
    assert refusal(messages).message == "messages[1].reasoning_details" + problem


def test_a_signature_with_a_lone_surrogate_is_refused() -> None:
    """Bedrock cannot take a lone surrogate (not valid Unicode): a 502 when sent on."""
    details = [{"type": "reasoning.text", "text": "t", "signature": "sig\udc00"}]
    error = refusal([USER, {"role": "assistant", "content": "a", "reasoning_details": details}, USER])
    assert error.message == "messages[1].reasoning_details[0].signature is not valid Unicode (lone surrogate)"


# --- system and developer ---------------------------------------------------------------------------


def test_system_and_developer_merging_is_unchanged() -> None:
    messages = [
        {"role": "developer", "content": "d1"},
        {"role": "user", "content": "u1"},
        {"role": "system", "content": [text("s1"), text("s2")]},
        asks(call("c1")),
        {"role": "system", "content": "s3"},
        answer("c1"),
        {"role": "user", "content": "u2"},
    ]
    assert conversation(messages) == (
        "d1\n\ns1\ns2\n\ns3",
        (
            Message("user", "u1"),
            Message("assistant", "", (), (tool_use("c1"),)),
            Message("user", "u2", (tool_result("c1"),)),
        ),
    )


def test_no_system_message_is_none() -> None:
    assert conversation([USER])[0] is None


def test_tool_results_lead_their_user_turn_whatever_order_they_came_in() -> None:
    """A user message sent between a tool call and its answer is merged after the tool result: Claude
    requires a turn's tool results to come first."""
    messages = [
        USER,
        asks(call("call_1")),
        user_parts(image_part(data_url("image/png", PNG)), text("look")),
        answer("call_1"),
    ]
    _, turns = conversation(messages)
    assert turns[-1] == Message("user", "look", (tool_result("call_1"), image("png", PNG)))
