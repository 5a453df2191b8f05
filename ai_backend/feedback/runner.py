"""Running one feedback job in a worker: claim it, write the feedback, store the result once.

- A worker claims a job by an atomic transition, `queued` (due) or `running` with an expired
  lease, to `running`, which also counts the attempt and sets a new lease, renewed while the
  job runs. Whoever does not win the claim leaves the job alone: a duplicate or late message
  finds the job taken or done.
- The result is written only by the claim that is still current (same attempt number, still
  `running`), so a job never gets two results.
- Transient LLM errors put the job back in the queue after an exponential backoff with jitter
  (the server's Retry-After when it is longer); after `MAX_ATTEMPTS` the job fails with the
  reason.
- Every answer is checked before it is stored (`checks.py`). One that fails a check, or is not
  the structure asked for, is generated again with a new seed, sampled more freely than the
  first (`RETRY_TEMPERATURE`); after `GENERATIONS` tries the job
  stores the hand-written answer of `fallback.py`, marked `source: "template"` with the checks
  the generations failed. A job never stores an answer that failed a check.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import Checkin, FeedbackJob, Practice
from ai_backend.feedback.checks import (
    CHECKS,
    GRAMMAR_CHARS,
    LENGTH,
    Answer,
    failed_checks,
    localise,
    prompt_grounds,
)
from ai_backend.feedback.fallback import template_answer
from ai_backend.feedback.llm import (
    RETRY_TEMPERATURE,
    InvalidOutput,
    LLMError,
    LLMProvider,
    TransientLLMError,
    output_schema,
)
from ai_backend.feedback.prompts import (
    CheckinNote,
    PracticeFacts,
    Prompt,
    build_prompt,
    prompt_version,
)
from ai_backend.feedback.service import update_job
from ai_backend.feedback.trimming import trim

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
GENERATIONS = 3  # answers generated for a job before the template is stored
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
RETRY_AFTER_CAP_SECONDS = 3600.0
Retry = Callable[[str, float], None]
# Told of each status a job moves to, after the change is committed.
Changed = Callable[[FeedbackJob, str], Awaitable[None]]
# Told of each stored answer: its source, the checks each rejected generation failed, and those
# the stored one passed only once trimmed.
Answered = Callable[[str, list[list[str]], list[str]], Awaitable[None]]


def job_prompt(kind: str, locale: str, practice: Practice, checkins: Sequence[Checkin]) -> Prompt:
    """The prompt for a practice, its check-ins in date order, on the day of the last one."""
    facts = PracticeFacts(
        title=practice.title,
        action=practice.practice_action,
        tags=list(practice.tags or []),
        start_date=practice.start_date,
        duration_days=practice.duration_days,
        checkins=[CheckinNote(c.checkin_date, c.mood, c.note, list(c.tags)) for c in checkins],
    )
    today = checkins[-1].checkin_date if checkins else datetime.now(UTC).date()
    return build_prompt(kind, locale, facts, today=today)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Written:
    """What a job stores: the answer, where it came from, and what the generations cost."""

    answer: Answer
    source: str  # "model" or "template"
    rejected: list[list[str]]  # the checks each rejected generation failed
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    last_rejected: str | None = None  # what the model said, the last time it was rejected
    trimmed: list[str] = field(default_factory=list)  # checks the kept answer passed once trimmed

    @property
    def failed_checks(self) -> list[str]:
        failed = {name for names in self.rejected for name in names}
        return [name for name in CHECKS if name in failed]


def answer_schema(prompt: Prompt) -> dict[str, Any]:
    """The output grammar of an answer to `prompt`: its message cannot stop before three
    quarters of the kind's lower bound (the model wrote 你今天學到了什麼？ and nothing else; the
    next step makes up the rest), nor either part run on far past the upper one; its digits
    write only the numbers the prompt lists, and its next step asks no question."""
    caps = GRAMMAR_CHARS[prompt.locale]
    low = LENGTH[prompt.locale][prompt.kind][0] * 3 // 4
    # The bound counts 字 for zh-TW and words for en, the grammar characters (about 5 a word).
    message_min = low if prompt.locale == "zh-TW" else low * 5
    return output_schema(
        caps["message"], caps["next_step"], message_min=message_min, numbers=prompt.writable
    )


async def write_answer(
    provider: LLMProvider, prompt: Prompt, *, seed: int, generations: int = GENERATIONS
) -> Written:
    """Generate until an answer passes every check, at most `generations` times; then the
    template. Transient and other LLM errors propagate: the job's retry policy handles them."""
    schema = answer_schema(prompt)
    facts = prompt_grounds(prompt)
    rejected: list[list[str]] = []
    model, prompt_tokens, completion_tokens = None, 0, 0
    last: str | None = None
    for n in range(generations):
        try:
            completion = await provider.complete(
                prompt.messages,
                schema=schema,
                seed=seed + n,
                temperature=RETRY_TEMPERATURE if rejected else None,
            )
        except InvalidOutput as exc:
            rejected.append(["schema"])
            last = exc.raw
            continue
        model = completion.model
        # The prompt's size (the same every time), and every token generated, kept or not.
        prompt_tokens = max(prompt_tokens, completion.prompt_tokens)
        completion_tokens += completion.completion_tokens
        output = completion.output
        answer = localise(Answer(output.message, output.next_step), prompt.locale)
        failed = failed_checks(answer, kind=prompt.kind, locale=prompt.locale, grounds=facts)
        kept = (
            trim(answer, failed, kind=prompt.kind, locale=prompt.locale, grounds=facts)
            if failed
            else answer
        )
        if kept is not None:
            return Written(
                kept, "model", rejected, model, prompt_tokens, completion_tokens, last, failed
            )
        rejected.append(failed)
        last = output.model_dump_json()
        logger.info("answer rejected", extra={"failed_checks": failed, "generation": n + 1})
    answer = template_answer(prompt.kind, prompt.locale, prompt.data)
    return Written(answer, "template", rejected, model, prompt_tokens, completion_tokens, last)


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff, never shorter than the server asked for (up to an
    hour)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, min(retry_after or 0.0, RETRY_AFTER_CAP_SECONDS))


@dataclass(frozen=True, slots=True)
class Claim:
    job: FeedbackJob
    attempt: int


class JobRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        provider: LLMProvider,
        *,
        lease_seconds: float,
        retry: Retry,
        on_change: Changed | None = None,
        on_answer: Answered | None = None,
    ) -> None:
        self.sessions = sessions
        self.provider = provider
        self.lease = timedelta(seconds=lease_seconds)
        # How a job is put back on the queue: (job id, delay in seconds).
        self.retry = retry
        self.on_change = on_change
        self.on_answer = on_answer

    async def _changed(self, job: FeedbackJob, status: str) -> None:
        if self.on_change is None:
            return
        try:
            await self.on_change(job, status)
        except Exception:
            # The change is committed; whoever missed the news reads the ledger.
            logger.exception("status change of job %s not announced", job.id)

    async def claim(self, job_id: uuid.UUID) -> Claim | None:
        now = datetime.now(UTC)
        due = and_(FeedbackJob.status == "queued", FeedbackJob.next_attempt_at <= now)
        abandoned = and_(FeedbackJob.status == "running", FeedbackJob.lease_expires_at < now)
        job = await update_job(
            self.sessions,
            job_id,
            or_(due, abandoned),
            status="running",
            attempts=FeedbackJob.attempts + 1,
            started_at=now,
            lease_expires_at=now + self.lease,
        )
        return None if job is None else Claim(job, job.attempts)

    async def _if_current(self, claim: Claim, **values: object) -> bool:
        """Update the job only while this claim is still the current one; the update ends the
        lease unless it sets one."""
        values.setdefault("lease_expires_at", None)
        current = (FeedbackJob.status == "running", FeedbackJob.attempts == claim.attempt)
        return await update_job(self.sessions, claim.job.id, *current, **values) is not None

    async def _finish(self, claim: Claim, **values: object) -> bool:
        """Write the outcome, with its timings, if this claim is still the current one."""
        finished = datetime.now(UTC)
        started = claim.job.started_at or finished
        duration_ms = int((finished - started).total_seconds() * 1000)
        written = await self._if_current(
            claim,
            finished_at=finished,
            duration_ms=duration_ms,
            callback_next_at=finished,
            **values,
        )
        if written:
            await self._changed(claim.job, str(values["status"]))
        return written

    async def prompt(self, job: FeedbackJob) -> Prompt:
        """The prompt for a job, from the practice and its owner's check-ins as they are now:
        a deleted check-in is in no prompt after it, another member's never."""
        async with self.sessions() as session:
            practice = await session.get(Practice, job.practice_id)
            if practice is None:
                raise LLMError(f"practice '{job.practice_id}' no longer exists")
            checkins = list(
                await session.scalars(
                    select(Checkin)
                    .where(
                        Checkin.practice_id == job.practice_id,
                        Checkin.user_id == practice.owner_id,
                    )
                    .order_by(Checkin.checkin_date, Checkin.created_at)
                )
            )
        return job_prompt(job.kind, job.locale, practice, checkins)

    async def run(self, job_id: uuid.UUID) -> str:
        """Run the job if it can be claimed; say what became of it."""
        claim = await self.claim(job_id)
        if claim is None:
            return "skipped"
        await self._changed(claim.job, "running")
        heartbeat = asyncio.create_task(self._keep_lease(claim))
        try:
            return await self._work(claim)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _keep_lease(self, claim: Claim) -> None:
        """Renew the lease while the job runs, so a slow but live worker keeps its job; a dead
        one stops renewing, and the sweeper hands the job out once the lease runs out."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            await self._if_current(claim, lease_expires_at=datetime.now(UTC) + self.lease)

    async def _work(self, claim: Claim) -> str:
        job = claim.job
        started = time.perf_counter()
        # A new seed for every generation of every attempt, the same on a rerun of the same one.
        seed = (job.id.int + claim.attempt * GENERATIONS) % 2**31
        try:
            written = await write_answer(self.provider, await self.prompt(job), seed=seed)
        except TransientLLMError as exc:
            return await self._transient(claim, exc)
        except LLMError as exc:
            await self._finish(claim, status="failed", error=str(exc)[:2000])
            return "failed"
        stored = await self._succeed(claim, written)
        logger.info(
            "feedback written" if stored else "feedback discarded: the job was taken over",
            extra={
                "job_id": str(job.id),
                "source": written.source,
                "generations": len(written.rejected) + (written.source == "model"),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        if stored and self.on_answer is not None:
            try:
                await self.on_answer(written.source, written.rejected, written.trimmed)
            except Exception:
                logger.exception("answer of job %s not counted", job.id)
        return "succeeded" if stored else "superseded"

    async def _succeed(self, claim: Claim, written: Written) -> bool:
        return await self._finish(
            claim,
            status="succeeded",
            result={"message": written.answer.message, "next_step": written.answer.next_step},
            source=written.source,
            failed_checks=written.failed_checks,
            raw_output=written.last_rejected,
            error=None,
            model=written.model,
            prompt_version=prompt_version(),
            prompt_tokens=written.prompt_tokens,
            completion_tokens=written.completion_tokens,
        )

    async def _transient(self, claim: Claim, exc: TransientLLMError) -> str:
        if claim.attempt >= MAX_ATTEMPTS:
            reason = f"gave up after {claim.attempt} attempts: {exc}"
            await self._finish(claim, status="failed", error=reason)
            return "failed"
        delay = backoff(claim.attempt, exc.retry_after)
        due = datetime.now(UTC) + timedelta(seconds=delay)
        # The retry message is delivered when the job is due: the sweeper counts from then.
        requeued = await self._if_current(
            claim,
            status="queued",
            next_attempt_at=due,
            sent_at=due,
            error=f"attempt {claim.attempt}: {exc}",
        )
        if requeued:
            self.retry(str(claim.job.id), delay)
            await self._changed(claim.job, "queued")
        return "retrying"
