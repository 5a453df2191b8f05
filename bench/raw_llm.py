"""Raw llama.cpp speed: `python -m bench.raw_llm PROMPTS.json THREADS` prints one JSON line.

It runs in a process of its own that loads nothing but llama-cpp-python and the service's local
provider (the same model file, settings, schema constraint and token budget as a worker), so
that nothing else the benchmark imported shares its cores or its OpenMP runtime. The last
prompt warms the model up; the others are timed one after another.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ai_backend.feedback.llm import InvalidOutput, LocalProvider


def main() -> None:
    prompts = json.loads(Path(sys.argv[1]).read_text())
    provider = LocalProvider(threads=int(sys.argv[2]))
    provider._complete(prompts[-1])
    tokens, seconds, prompt_tokens = 0, 0.0, []
    for messages in prompts[:-1]:
        before = time.perf_counter()
        try:
            completion = provider._complete(messages)
        except InvalidOutput:  # what the worker does: once more
            completion = provider._complete(messages)
        seconds += time.perf_counter() - before
        tokens += completion.completion_tokens
        prompt_tokens.append(completion.prompt_tokens)
    print(json.dumps({"tokens": tokens, "seconds": seconds, "prompt_tokens": prompt_tokens}))


if __name__ == "__main__":
    main()
