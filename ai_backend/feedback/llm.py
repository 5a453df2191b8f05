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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ai_backend.feedback.local_models import smollm_path

# The schema bounds what the model may write (150 characters of message, 80 of next step,
# as DaoDao's specs ask), and the token budget covers that bound even in Chinese (about two
# tokens a character here), so a constrained answer always closes its JSON.
MESSAGE_CHARS = (20, 150)
NEXT_STEP_CHARS = 80
MAX_TOKENS = 512


class FeedbackOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: str = Field(min_length=1, max_length=600)
    next_step: str | None = Field(default=None, max_length=300)


OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {
            "type": "string",
            "minLength": MESSAGE_CHARS[0],
            "maxLength": MESSAGE_CHARS[1],
        },
        "next_step": {"type": "string", "maxLength": NEXT_STEP_CHARS},
    },
    "required": ["message"],
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

    async def complete(self, messages: list[dict[str, str]]) -> Completion: ...

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
        self, model_path: Path | None = None, *, threads: int = 2, temperature: float = 0.7
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

    def _complete(self, messages: list[dict[str, str]]) -> Completion:
        with self._lock:
            answer = self._load().create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": OUTPUT_SCHEMA},
                max_tokens=MAX_TOKENS,
                temperature=self.temperature,
            )
        text = answer["choices"][0]["message"]["content"] or ""
        usage = answer.get("usage") or {}
        return Completion(
            output=parse_output(text),
            model=self.model,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        return await asyncio.to_thread(self._complete, messages)

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

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": MAX_TOKENS,
            "temperature": 0.7,
            # Understood by llama.cpp's server and by OpenAI-compatible servers that take a
            # schema with json_object; the output is validated either way.
            "response_format": {"type": "json_object", "schema": OUTPUT_SCHEMA},
        }
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
