"""The OpenAI-compatible API with the real `openai` SDK (strict response validation) through the real
emulator, runtime and handler: streaming (paced, one role, constant ids), the stream helper, whole
completions, usage, token limits, conversations, path prefixes, aliases, the async client, the SSE framing,
the invocation log, and the native API beside it. Errors are in test_openai_errors.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk

from emulator.stub_replies import reply_tokens
from tests.openai.conftest import ALIAS, HAIKU, NOVA, Served, user
from tests.support.http_client import Response, request


def reply(prompt: str, count: int = 12) -> str:
    """The stand-in's deterministic reply to `prompt` (directive-free) in `count` deltas."""
    return "".join(reply_tokens(prompt, count))


def _texts(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


def test_the_stream_arrives_delta_by_delta_with_one_role_and_constant_ids(served: Served) -> None:
    stream = served.client().chat.completions.create(
        model=NOVA, messages=user("pace me @stub:tokens=6 @stub:delay-ms=150"), stream=True
    )
    started = time.monotonic()
    timed = [(time.monotonic() - started, chunk) for chunk in stream]
    chunks = [chunk for _, chunk in timed]
    content = [
        (at, c.choices[0].delta.content) for at, c in timed if c.choices and c.choices[0].delta.content
    ]
    assert [text for _, text in content] == reply_tokens("pace me", 6)
    # Paced 150 ms apart at the stand-in, so each delta must reach the SDK on its own, not in one batch.
    arrivals = [at for at, _ in content]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.1, gaps
    assert arrivals[-1] - arrivals[0] >= 0.6, arrivals
    assert timed[-1][0] - arrivals[0] >= 0.6  # the first text came long before the stream ended

    choices = [c.choices[0] for c in chunks if c.choices]
    assert [choice.delta.role for choice in choices] == ["assistant"] + [None] * (len(choices) - 1)
    assert [choice.finish_reason for choice in choices] == [None] * (len(choices) - 1) + ["stop"]
    assert choices[-1].delta.content is None
    assert {(c.id, c.created, c.model, c.object) for c in chunks} == {
        (chunks[0].id, chunks[0].created, NOVA, "chat.completion.chunk")
    }
    request_id = stream.response.headers["x-request-id"]
    assert chunks[0].id == f"chatcmpl-{request_id}"
    assert abs(chunks[0].created - time.time()) < 60
    assert stream.response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert all(c.usage is None for c in chunks)


def test_the_stream_helper_accumulates_one_assistant_message(served: Served) -> None:
    client = served.client()
    with client.chat.completions.stream(model=HAIKU, messages=user("accumulate me @stub:tokens=5")) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert deltas == ["", *reply_tokens("accumulate me", 5)]  # "" from the role chunk, as OpenAI sends
    assert message.content == "".join(deltas)
    assert message.role == "assistant"  # sent once: the accumulator would concatenate a repeated role
    assert message.refusal is None
    assert final.choices[0].finish_reason == "stop"
    assert final.model == HAIKU


def test_a_whole_completion_equals_the_streamed_text_with_the_same_usage(served: Served) -> None:
    client, prompt = served.client(), "the same prompt twice"
    whole = client.chat.completions.create(model=NOVA, messages=user(prompt))
    stream = client.chat.completions.create(
        model=NOVA, messages=user(prompt), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert whole.object == "chat.completion"
    assert whole.model == NOVA
    assert whole.id == f"chatcmpl-{whole._request_id}"
    [choice] = whole.choices
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == reply(prompt) == "".join(_texts(chunks))
    # The stand-in counts one input token per prompt word and one output token per delta.
    expected_usage = CompletionUsage(prompt_tokens=4, completion_tokens=12, total_tokens=16)
    assert whole.usage == expected_usage
    assert chunks[-1].usage == expected_usage


def test_include_usage_adds_one_final_usage_chunk_and_nothing_else(served: Served) -> None:
    client = served.client()
    with_usage = list(
        client.chat.completions.create(
            model=NOVA,
            messages=user("count me please @stub:tokens=3"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert with_usage[-1].choices == []
    assert with_usage[-1].usage == CompletionUsage(prompt_tokens=3, completion_tokens=3, total_tokens=6)
    assert all(c.usage is None and c.choices for c in with_usage[:-1])
    assert with_usage[-2].choices[0].finish_reason == "stop"

    without = list(
        client.chat.completions.create(
            model=NOVA, messages=user("count me please @stub:tokens=3"), stream=True
        )
    )
    assert all(c.choices and c.usage is None for c in without)
    assert _texts(without) == _texts(with_usage) == reply_tokens("count me please", 3)


@pytest.mark.parametrize(
    "limits",
    [{"max_completion_tokens": 3}, {"max_tokens": 3}, {"max_tokens": 40, "max_completion_tokens": 3}],
    ids=["max_completion_tokens", "max_tokens", "max_completion_tokens-wins"],
)
def test_a_token_limit_cuts_the_reply_with_finish_reason_length(
    served: Served, limits: dict[str, int]
) -> None:
    client, prompt = served.client(), "a long answer"
    before = len(served.bedrock_calls())
    whole = client.chat.completions.create(model=NOVA, messages=user(f"{prompt} @stub:tokens=50"), **limits)  # type: ignore[call-overload]
    assert whole.choices[0].message.content == reply(prompt, 3)
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None and whole.usage.completion_tokens == 3
    streamed = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            model=NOVA, messages=user(f"{prompt} @stub:tokens=50"), stream=True, **limits
        )
    )
    assert "".join(_texts(streamed)) == reply(prompt, 3)
    assert streamed[-1].choices[0].finish_reason == "length"
    sent = [call.body["inferenceConfig"]["maxTokens"] for call in served.bedrock_calls()[before:]]
    assert sent == [3, 3]


def test_sampling_settings_and_stop_sequences_reach_bedrock(served: Served) -> None:
    # The stand-in does not model stop sequences (it never stops early), so only that they reach
    # Bedrock's inferenceConfig is checked here, not their effect.
    client = served.client()
    before = len(served.bedrock_calls())
    client.chat.completions.create(
        model=NOVA, messages=user("settings"), temperature=0.25, top_p=0.5, stop=["END", "\n\n"]
    )
    client.chat.completions.create(model=NOVA, messages=user("settings"), stop="HALT")
    first, second = (call.body["inferenceConfig"] for call in served.bedrock_calls()[before:])
    assert first == {"maxTokens": 1024, "temperature": 0.25, "topP": 0.5, "stopSequences": ["END", "\n\n"]}
    assert second == {"maxTokens": 1024, "stopSequences": ["HALT"]}


def test_a_conversation_maps_system_developer_and_merged_turns(served: Served) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "developer", "content": "Answer in words."},
        {"role": "assistant", "content": [{"type": "text", "text": "first answer"}]},
        {"role": "user", "content": "second"},
        {"role": "user", "content": [{"type": "text", "text": "question"}, {"type": "text", "text": "here"}]},
    ]
    before = len(served.bedrock_calls())
    completion = served.client().chat.completions.create(model=NOVA, messages=messages)
    [call] = served.bedrock_calls()[before:]
    assert call.operation == "converse-stream" and call.model_id == NOVA
    assert call.body["system"] == [{"text": "Be brief.\n\nAnswer in words."}]
    assert call.body["messages"] == [
        {"role": "user", "content": [{"text": "first question"}]},
        {"role": "assistant", "content": [{"text": "first answer"}]},
        {"role": "user", "content": [{"text": "second\n\nquestion\nhere"}]},
    ]
    # The stand-in answers (and counts input tokens of) the last user turn: the merged one.
    assert completion.choices[0].message.content == reply("second question here")
    assert completion.usage is not None and completion.usage.prompt_tokens == 3
    shorter = served.client().chat.completions.create(model=NOVA, messages=user("here"))
    assert shorter.usage is not None and shorter.usage.prompt_tokens == 1


def test_a_path_prefix_before_v1_serves_chat_and_models(served: Served) -> None:
    client = served.client(prefix="prod/")
    completion = client.chat.completions.create(model=HAIKU, messages=user("behind a stage"))
    assert completion.choices[0].message.content == reply("behind a stage")
    assert [model.id for model in client.models.list()] == [HAIKU, NOVA]
    assert client.models.retrieve(NOVA).model_dump() == {
        "id": NOVA,
        "object": "model",
        "created": 0,
        "owned_by": "amazon",
        "shutdown_date": None,
    }
    listing = request(served.url, "/v1/models", method="GET")
    assert listing.status == 200
    for path in ("/v1/models/", "/prod/v1/models/", "/prod/v1/models"):
        again = request(served.url, path, method="GET")
        assert (again.status, again.json()) == (200, listing.json()), path
    assert listing.json()["data"][0] == {
        "id": HAIKU,
        "object": "model",
        "created": 0,
        "owned_by": "anthropic",
    }


def test_an_alias_is_listed_and_answers_as_its_model(limited: Served) -> None:
    client = limited.client()
    assert [(m.id, m.owned_by) for m in client.models.list()] == [
        (HAIKU, "anthropic"),
        (NOVA, "amazon"),
        (ALIAS, "amazon"),
    ]
    assert client.models.retrieve(ALIAS).owned_by == "amazon"
    before = len(limited.bedrock_calls())
    completion = client.chat.completions.create(model=ALIAS, messages=user("by another name"))
    assert completion.model == NOVA
    assert completion.choices[0].message.content == reply("by another name")
    chunks = list(client.chat.completions.create(model=ALIAS, messages=user("by another name"), stream=True))
    assert {chunk.model for chunk in chunks} == {NOVA}
    assert [call.model_id for call in limited.bedrock_calls()[before:]] == [NOVA, NOVA]


def test_the_async_client_streams_too(served: Served) -> None:
    async def run() -> tuple[list[str], str | None]:
        async with served.async_client() as client:
            stream = await client.chat.completions.create(
                model=NOVA, messages=user("async please @stub:tokens=4 @stub:delay-ms=20"), stream=True
            )
            texts, finish = [], None
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    texts.append(chunk.choices[0].delta.content)
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
            return texts, finish

    assert asyncio.run(run()) == (reply_tokens("async please", 4), "stop")


def test_the_native_api_on_slash_is_untouched(served: Served) -> None:
    native = request(served.url, "/", body={"prompt": "hi"})
    assert native.status == 200
    assert native.header("content-type") == "text/plain; charset=utf-8"
    assert native.body.decode() == reply("hi")
    openai_reply = served.client().chat.completions.create(model=NOVA, messages=user("hi"))
    assert openai_reply.choices[0].message.content == native.body.decode()


def _sse(response: Response) -> list[str]:
    """The data lines of an SSE body, after checking the framing: only `data: ` lines, one per event."""
    text = response.body.decode()
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    for event in events:
        assert event.startswith("data: ") and "\n" not in event, repr(event)
        assert event != "data: " and not event.startswith("data: {}")
    return [event.removeprefix("data: ") for event in events]


@pytest.mark.parametrize("include_usage", [False, True])
def test_the_sse_body_is_data_lines_of_json_then_done(served: Served, include_usage: bool) -> None:
    document = {
        "model": NOVA,
        "messages": user("frame me @stub:tokens=4"),
        "stream": True,
        "stream_options": {"include_usage": include_usage},
    }
    response = request(served.url, "/v1/chat/completions", body=document)
    assert response.status == 200
    assert response.header("content-type") == "text/event-stream; charset=utf-8"
    assert (response.header("cache-control"), response.header("x-accel-buffering")) == ("no-cache", "no")
    lines = [line for line in response.body.decode().split("\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    data = _sse(response)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    # role+first content, 3 more contents, finish, and the usage chunk when asked for
    assert len(chunks) == 2 + 3 + 1 + include_usage
    if include_usage:
        assert all(chunk["usage"] is None for chunk in chunks[:-1])
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    else:
        assert not any("usage" in chunk for chunk in chunks)
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk, strict=False)  # every event is a valid chunk


def test_the_invocation_log_names_the_caller_but_never_the_prompt(served: Served) -> None:
    client = served.client()
    secret = "marmalade-7391-zebracorn"
    completion = client.chat.completions.create(model=NOVA, messages=user(f"tell {secret}"), user="alice")
    line = served.invocation(completion._request_id or "")
    assert line["caller"] == "alice"
    assert (line["status"], line["modelId"], line["format"], line["stopReason"]) == (
        200,
        NOVA,
        "openai-json",
        "end_turn",
    )
    assert (line["inputTokens"], line["outputTokens"]) == (2, 12)
    long_user = "b" * 300
    streamed = client.chat.completions.create(model=NOVA, messages=user(secret), user=long_user, stream=True)
    list(streamed)
    line = served.invocation(streamed.response.headers["x-request-id"])
    assert (line["caller"], line["format"]) == ("b" * 128, "openai-sse")
    anonymous = client.chat.completions.create(model=NOVA, messages=user("nobody"))
    assert served.invocation(anonymous._request_id or "")["caller"] is None
    assert secret not in served.emulator.log()
