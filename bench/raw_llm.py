"""Raw llama.cpp speed: `python -m bench.raw_llm PROMPTS.json THREADS` prints one JSON line.

It runs in a process of its own that loads nothing but llama-cpp-python and the service's local
provider (the model the settings name, as a worker would run it: the same file, schema
constraint, token budget and sampling), so that nothing else the benchmark imported shares its
cores or its OpenMP runtime. PROMPTS.json is a list of {"messages", "schema"}; the last one warms
the model up, the others are timed one after another, one generation each.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ai_backend.config import Settings
from ai_backend.feedback.llm import InvalidOutput, LocalProvider
from ai_backend.feedback.local_models import model_path


def main() -> None:
    prompts = json.loads(Path(sys.argv[1]).read_text())
    settings = Settings()
    path = model_path(settings.llm_local_model, settings.model_dir)
    provider = LocalProvider(path, threads=int(sys.argv[2]))
    provider._complete(prompts[-1]["messages"], prompts[-1]["schema"])
    tokens, seconds, prompt_tokens = 0, 0.0, []
    for n, prompt in enumerate(prompts[:-1]):
        before = time.perf_counter()
        try:
            completion = provider._complete(prompt["messages"], prompt["schema"], n)
        except InvalidOutput:  # no token count to take: try the next seed, as a worker would
            completion = provider._complete(prompt["messages"], prompt["schema"], n + 1)
        seconds += time.perf_counter() - before
        tokens += completion.completion_tokens
        prompt_tokens.append(completion.prompt_tokens)
    print(json.dumps({"tokens": tokens, "seconds": seconds, "prompt_tokens": prompt_tokens}))


if __name__ == "__main__":
    main()
