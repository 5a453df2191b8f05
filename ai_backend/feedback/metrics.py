"""Counts of stored answers by source and of rejected generations by failed check.

Workers write them into one Redis hash (they are other processes, often other hosts); the API
reads the hash when `/metrics` is scraped and exposes the counts as Prometheus counters:

- `daodao_feedback_answers_total{source="model"|"template"}`
- `daodao_feedback_failed_checks_total{check=...}`: one per failed check of each rejected
  generation
- `daodao_feedback_generations_total`: every generation, kept or not
- `daodao_feedback_trimmed_total{check=...}`: stored model answers that passed only once the
  sentences failing that check were taken out
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ai_backend.feedback.checks import CHECKS

logger = logging.getLogger(__name__)
KEY = "feedback:answers"
SOURCES = ("model", "template")


async def count_answer(
    redis: Redis, source: str, rejected: list[list[str]], trimmed: list[str]
) -> None:
    """Count one stored answer, from the worker that stored it."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(KEY, f"source:{source}", 1)
        if trimmed:
            pipe.hincrby(KEY, "trimmed", 1)
        for name in trimmed:
            pipe.hincrby(KEY, f"trimmed:{name}", 1)
        pipe.hincrby(KEY, "generations", len(rejected) + (source == "model"))
        for names in rejected:
            for name in names:
                pipe.hincrby(KEY, f"check:{name}", 1)
        await pipe.execute()


class AnswerCounts(Collector):
    """The last counts read from Redis, for the Prometheus registry."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def refresh(self, redis: Redis) -> None:
        """Read the counts; if Redis does not answer, the last ones stay (and are logged)."""
        try:
            raw = await redis.hgetall(KEY)
        except RedisError as exc:
            logger.warning("feedback counts not read: %s", exc)
            return
        self.values = {_text(k): int(v) for k, v in raw.items()}

    def collect(self) -> Iterator[Metric]:
        answers = CounterMetricFamily(
            "daodao_feedback_answers", "Stored feedback answers by source", labels=["source"]
        )
        for source in SOURCES:
            answers.add_metric([source], self.values.get(f"source:{source}", 0))
        checks = CounterMetricFamily(
            "daodao_feedback_failed_checks",
            "Rejected feedback generations, by each check they failed",
            labels=["check"],
        )
        for name in CHECKS:
            checks.add_metric([name], self.values.get(f"check:{name}", 0))
        generations = CounterMetricFamily(
            "daodao_feedback_generations", "Feedback answers generated, kept or rejected"
        )
        generations.add_metric([], self.values.get("generations", 0))
        trimmed = CounterMetricFamily(
            "daodao_feedback_trimmed",
            "Stored model answers that passed once sentences were trimmed, by the check those "
            "sentences failed",
            labels=["check"],
        )
        for name in CHECKS:
            trimmed.add_metric([name], self.values.get(f"trimmed:{name}", 0))
        yield from (answers, checks, generations, trimmed)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


ANSWER_COUNTS = AnswerCounts()
REGISTRY.register(ANSWER_COUNTS)
