"""The local models' files: Qwen2.5-Coder-1.5B joined from its 22 installed parts and checked
against the official digest; a changed file is rebuilt, damaged parts are refused. The model
answers in the language asked, within the answer grammar."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ai_backend.feedback.checks import LENGTH, measure
from ai_backend.feedback.grounds import HAN
from ai_backend.feedback.llm import LocalProvider, output_schema
from ai_backend.feedback.local_models import (
    QWEN_SHA256,
    QWEN_SIZE,
    ModelFileError,
    assemble,
    model_path,
    qwen_parts,
    sha256_of,
)
from ai_backend.feedback.prompts import Prompt
from ai_backend.feedback.runner import answer_schema


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def test_qwen_is_joined_once_into_the_official_file(cache: Path) -> None:
    path = model_path("qwen2.5-coder-1.5b", cache)
    assert path.stat().st_size == QWEN_SIZE
    assert sha256_of(path) == QWEN_SHA256
    first = path.stat().st_mtime_ns
    assert model_path("qwen2.5-coder-1.5b", cache) == path
    assert path.stat().st_mtime_ns == first, "a verified file is not written again"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "no drafts left"


def test_a_changed_file_is_joined_again(cache: Path) -> None:
    path = model_path("qwen2.5-coder-1.5b", cache)
    with path.open("r+b") as file:  # same size, one byte different
        file.seek(QWEN_SIZE // 2)
        byte = file.read(1)
        file.seek(QWEN_SIZE // 2)
        file.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert sha256_of(path) != QWEN_SHA256
    assert sha256_of(model_path("qwen2.5-coder-1.5b", cache)) == QWEN_SHA256


def test_damaged_parts_are_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    parts = qwen_parts()
    short = tmp_path / "last-part.bin"
    shutil.copyfile(parts[-1], short)
    with short.open("r+b") as file:
        file.truncate(short.stat().st_size - 1)
    target = tmp_path / "llm" / "model.gguf"
    with pytest.raises(ModelFileError, match="Reinstall them"):
        assemble([*parts[:-1], short], target, sha256=QWEN_SHA256, size=QWEN_SIZE)
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "no half-written draft is left"


async def test_the_qwen_model_loads_and_answers_in_the_language_asked(cache: Path) -> None:
    # Greedy decoding, so the answer is the model's most likely one, run after run.
    provider = LocalProvider(model_path("qwen2.5-coder-1.5b", cache), threads=2, temperature=0)
    try:
        english = await provider.complete(
            [
                {"role": "system", "content": "Reply in JSON with a `message` in English."},
                {"role": "user", "content": "Say hello to a learner who read for ten minutes."},
            ]
        )
        chinese = await provider.complete(
            [
                {"role": "system", "content": "只用 JSON 回覆，message 用繁體中文。"},
                {"role": "user", "content": "鼓勵一位今天讀了十分鐘書的學習者。"},
            ]
        )
    finally:
        await provider.close()
    assert english.model.startswith("qwen2.5-coder-1.5b")
    message = english.output.message.lower()
    assert "read" in message, message  # it speaks of what the learner did
    assert not any("\u4e00" <= c <= "\u9fff" for c in message), message
    said = chinese.output.message
    assert sum("\u4e00" <= c <= "\u9fff" for c in said) >= 5, said  # Chinese, not English
    assert "讀" in said or "书" in said or "書" in said, said  # about the reading


async def test_the_answer_grammar_keeps_a_message_from_stopping_short(cache: Path) -> None:
    # Asked for four characters, the model stops at four unless the grammar holds it to the
    # least a member reads (Qwen once answered an encouragement with 你今天學到了什麼？ alone).
    provider = LocalProvider(model_path("qwen2.5-coder-1.5b", cache), threads=2, temperature=0)
    ask = [
        {"role": "system", "content": "只用 JSON 回覆：message 只寫四個字，next_step 寫一句話。"},
        {"role": "user", "content": "鼓勵一位今天練了吉他的學習者。"},
    ]
    held = answer_schema(Prompt("checkin_encouragement", "zh-TW", ask, {}))
    least = held["properties"]["message"]["minLength"]
    try:
        free = await provider.complete(ask, schema=output_schema(180, 60))
        bounded = await provider.complete(ask, schema=held)
    finally:
        await provider.close()
    assert len(free.output.message) < least, free.output.message
    assert len(bounded.output.message) >= least, bounded.output.message
    assert (
        measure(bounded.output.message, "zh-TW") >= LENGTH["zh-TW"]["checkin_encouragement"][0] // 2
    )
    # Held longer, it still encourages this learner, in Chinese: it does not pad with filler.
    said = bounded.output.message
    assert len(HAN.findall(said)) >= least * 2 // 3, said
    assert "吉他" in said or "練" in said, said


async def test_the_answer_grammar_writes_no_number_but_those_listed(cache: Path) -> None:
    # Told outright to write numbers the data does not hold, and to end its step on a question,
    # the model cannot: its digits are held to the listed numbers, its step to no question mark.
    provider = LocalProvider(model_path("qwen2.5-coder-1.5b", cache), threads=2, temperature=0)
    ask = [
        {"role": "system", "content": "只用 JSON 回覆：message 和 next_step。"},
        {
            "role": "user",
            "content": "他今天慢跑 30 分鐘。message 寫「你今天跑了 45 分鐘，下週挑戰 60 分鐘」，"
            "next_step 寫「明天要不要跑 50 分鐘？」",
        },
    ]
    prompt = Prompt("checkin_encouragement", "zh-TW", ask, {}, writable=(30,))
    try:
        free = await provider.complete(ask, schema=output_schema(180, 60))
        held = await provider.complete(ask, schema=answer_schema(prompt))
    finally:
        await provider.close()
    loose = f"{free.output.message} {free.output.next_step}"
    assert {"45", "60", "50"} & set(re.findall(r"\d+", loose)), loose  # what it writes unheld
    message, step = held.output.message, held.output.next_step or ""
    assert set(re.findall(r"\d+", f"{message} {step}")) <= {"30"}, (message, step)
    assert not {"?", "？"} & set(step), step
