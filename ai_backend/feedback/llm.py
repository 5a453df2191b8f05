"""LLM providers behind one interface: the bundled local model, or any OpenAI-compatible server.

Both return structured output: JSON with `message` and an optional `next_step`, validated by
Pydantic. The local model is constrained by a grammar built from the JSON schema, so its output
always parses; a server is asked for the same schema and checked all the same.

Failures are sorted for the caller's retry policy: `TransientLLMError` (timeouts, 429, 5xx,
with the server's `Retry-After` when it sent one) is worth retrying; `LLMError` is not.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ai_backend.feedback.local_models import smollm_path

# The token budget covers the longest answer the output grammar allows, even in Chinese (about
# two tokens a character here), so a constrained answer always closes its JSON.
MAX_TOKENS = 512
# Small models fall into loops ("你很棒。你很棒。…"); a mild penalty on the last 64 tokens
# keeps most answers out of them, and the checks catch the rest.
REPEAT_PENALTY = 1.1
# Low for a job's first answer: at 0.5, one answer of Qwen2.5-Coder-1.5B in nine failed a check
# even after trimming (mostly invented numbers and stray characters); at 0.2, one in eighteen
# (the 45 scenarios of `bench feedback-quality`, twice each, 2026-12-04). An answer generated
# again after one was rejected samples more freely, so it does not say the same thing again.
TEMPERATURE = 0.2
RETRY_TEMPERATURE = 0.6


class FeedbackOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: str = Field(min_length=1, max_length=1000)
    next_step: str | None = Field(default=None, max_length=400)


def output_schema(
    message_chars: int = 700,
    next_step_chars: int = 240,
    *,
    message_min: int = 1,
    numbers: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The JSON schema the answer is constrained to; the upper bounds are where a longer answer
    would be cut off, the lower one where a message says too little (the checks judge the
    length that counts).

    With `numbers`, a pattern holds every digit the answer writes to those numbers, and the
    next step to no question mark: llama.cpp decodes under the pattern, so the model cannot
    invent "15 分鐘" or end its step on "…看看效果如何？" in the first place (the checks still
    read numbers in words, and an OpenAI-compatible server that ignores patterns)."""
    message: dict[str, Any] = {
        "type": "string",
        "minLength": message_min,
        "maxLength": message_chars,
    }
    step: dict[str, Any] = {"type": "string", "maxLength": next_step_chars}
    if numbers is not None:
        # Longest first, so that a regex engine tries 10 before 1.
        written = "".join(f"|{n}" for n in sorted({str(n) for n in numbers}, key=len, reverse=True))
        message["pattern"] = f'^([^0-9"\\\\]{written}){{{message_min},{message_chars}}}$'
        step["pattern"] = f'^([^0-9?\uff1f"\\\\]{written}){{0,{next_step_chars}}}$'
    return {
        "type": "object",
        "properties": {"message": message, "next_step": step},
        "required": ["message", "next_step"],
    }


class LLMError(Exception):
    """The call failed for good: retrying the same request will not help."""

    def __init__(self, message: str, *, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class TransientLLMError(LLMError):
    """Worth retrying later: a timeout, a rate limit or a server error."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidOutput(LLMError):
    """The model answered, but not with the structure asked for (`raw` keeps what it said)."""


@dataclass(frozen=True, slots=True)
class Completion:
    output: FeedbackOutput
    model: str
    prompt_tokens: int
    completion_tokens: int


class LLMProvider(Protocol):
    name: str

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,  # None: the provider's own
    ) -> Completion: ...

    async def close(self) -> None: ...


def parse_output(text: str) -> FeedbackOutput:
    try:
        # strict=False: a raw line break inside a string (models write them) is still the
        # message the member should see, not a reason to throw the answer away.
        return FeedbackOutput.model_validate(json.loads(text, strict=False))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise InvalidOutput(f"model output is not the JSON asked for: {exc}", raw=text) from exc


class LocalProvider:
    """llama-cpp-python in this process; the model is loaded once, on first use."""

    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 2,
        temperature: float = TEMPERATURE,
    ) -> None:
        self.model_path = model_path or smollm_path()
        self.threads = threads
        self.temperature = temperature
        self._llama: Any = None
        # llama.cpp contexts are not safe to share between threads.
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.model_path.stem

    def _load(self) -> Any:
        if self._llama is None:
            # llama.cpp's OpenMP threads spin while they wait for each other. With another busy
            # process on the same cores (the API, a second worker) the spinning starves the
            # threads doing the work: two 2-thread processes on 2 cores ran 30 times slower than
            # one. A short spin keeps one process within about 10 % of its best and lets two
            # share the cores. It must be set before llama.cpp loads libgomp.
            os.environ.setdefault("GOMP_SPINCOUNT", "1000")
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=2048,
                n_threads=self.threads,
                verbose=False,
            )
        return self._llama

    def _complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        with self._lock:
            answer = self._load().create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": schema or output_schema()},
                max_tokens=MAX_TOKENS,
                temperature=self.temperature if temperature is None else temperature,
                repeat_penalty=REPEAT_PENALTY,
                seed=seed,
            )
        text = answer["choices"][0]["message"]["content"] or ""
        usage = answer.get("usage") or {}
        return Completion(
            output=parse_output(text),
            model=self.model,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def load(self) -> None:
        """Load the model now (a worker does at start), not on the first job."""
        with self._lock:
            self._load()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        return await asyncio.to_thread(self._complete, messages, schema, seed, temperature)

    async def close(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's `Retry-After` in seconds, when it sent a number."""
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the caller's own backoff applies


class OpenAIProvider:
    """Any OpenAI-compatible chat-completions endpoint, over httpx, with timeouts."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=transport,
        )

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE if temperature is None else temperature,
            # Understood by llama.cpp's server and by OpenAI-compatible servers that take a
            # schema with json_object; the output is validated either way.
            "response_format": {"type": "json_object", "schema": schema or output_schema()},
        }
        if seed is not None:
            body["seed"] = seed
        try:
            response = await self._client.post("/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise TransientLLMError(f"LLM call timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientLLMError(f"LLM server unreachable: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientLLMError(
                f"LLM server answered {response.status_code}",
                retry_after=retry_after_seconds(response),
            )
        if response.status_code >= 400:
            raise LLMError(f"LLM server refused the request: {response.status_code}")
        try:
            answer = response.json()
            text = answer["choices"][0]["message"]["content"] or ""
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"not a chat-completions answer: {response.text[:200]}") from exc
        return Completion(
            output=parse_output(text),
            model=str(answer.get("model") or self.model),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    async def close(self) -> None:
        await self._client.aclose()
