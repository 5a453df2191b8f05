"""Both LLM providers, on the real bundled model: in process, and behind llama.cpp's own
OpenAI-compatible server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from ai_backend.feedback.llm import (
    InvalidOutput,
    LLMError,
    LocalProvider,
    OpenAIProvider,
    TransientLLMError,
    parse_output,
)
from ai_backend.feedback.local_models import smollm_path
from tests.conftest import free_port
from tests.eventually import eventually_sync

MESSAGES = [
    {"role": "system", "content": "You encourage learners. Answer in JSON."},
    {"role": "user", "content": "Day 5 of 30 of guitar practice; today: learned the G chord."},
]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/models", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually_sync(answers, within=60, what="the llama.cpp server to answer", every=0.2)
    except AssertionError:
        process.kill()
        raise
    yield base
    process.terminate()
    process.wait(timeout=20)


async def test_local_provider_answers_with_the_structure_asked_for() -> None:
    provider = LocalProvider()
    try:
        completion = await provider.complete(MESSAGES)
    finally:
        await provider.close()
    assert completion.output.message.strip()
    assert completion.model == "SmolLM2-135M-Instruct.Q4_1"
    assert completion.prompt_tokens > 10
    assert completion.completion_tokens > 0


async def test_openai_provider_against_llama_cpp_server(llama_server: str) -> None:
    provider = OpenAIProvider(llama_server, model="smollm2")
    try:
        completion = await provider.complete(MESSAGES)
    finally:
        await provider.close()
    assert completion.output.message.strip()
    assert completion.prompt_tokens > 10
    assert completion.completion_tokens > 0


def answering(status: int, **kwargs: object) -> httpx.MockTransport:
    """For status codes the real server cannot be made to produce (503, 429, 400)."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **kwargs)  # type: ignore[arg-type]

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("status", "headers", "transient", "retry_after"),
    [
        (503, {"Retry-After": "7"}, True, 7.0),
        (429, {"Retry-After": "2"}, True, 2.0),
        (502, {}, True, None),
        (400, {}, False, None),
        (401, {}, False, None),
    ],
)
async def test_failures_are_sorted_for_retries(
    status: int, headers: dict[str, str], transient: bool, retry_after: float | None
) -> None:
    provider = OpenAIProvider(
        "http://llm.invalid/v1", model="m", transport=answering(status, headers=headers)
    )
    with pytest.raises(LLMError) as caught:
        await provider.complete(MESSAGES)
    assert isinstance(caught.value, TransientLLMError) is transient
    if transient:
        assert isinstance(caught.value, TransientLLMError)
        assert caught.value.retry_after == retry_after
    await provider.close()


async def test_a_timeout_is_transient_and_bad_json_keeps_the_raw_text() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    provider = OpenAIProvider(
        "http://llm.invalid/v1", model="m", transport=httpx.MockTransport(slow)
    )
    with pytest.raises(TransientLLMError):
        await provider.complete(MESSAGES)
    await provider.close()

    chatty = {"choices": [{"message": {"content": "Sure! Here you go: great job"}}]}
    provider = OpenAIProvider(
        "http://llm.invalid/v1", model="m", transport=answering(200, json=chatty)
    )
    with pytest.raises(InvalidOutput) as caught:
        await provider.complete(MESSAGES)
    assert caught.value.raw == "Sure! Here you go: great job"
    await provider.close()


def test_output_parsing_keeps_line_breaks_and_refuses_other_shapes() -> None:
    # Models write raw line breaks inside strings; the message is still good.
    output = parse_output('{"message": "Day 3 done.\nKeep going!", "next_step": null}')
    assert output.message == "Day 3 done.\nKeep going!"
    for bad in ('{"next_step": "x"}', '{"message": ""}', "Day 3 done", '{"message": "cut'):
        with pytest.raises(InvalidOutput) as caught:
            parse_output(bad)
        assert caught.value.raw == bad
