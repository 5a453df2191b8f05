"""The long-lived clients one API process holds, built once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai_backend.auth import TokenVerifier
from ai_backend.catalog.indexing import Indexer, items_layout
from ai_backend.catalog.people import PEOPLE_FIELDS, PeopleIndexer, people_layout
from ai_backend.catalog.reindex import ReindexJobs
from ai_backend.catalog.service import CatalogService
from ai_backend.config import Settings
from ai_backend.db.session import make_engine, make_session_factory
from ai_backend.events import Events, ItemsChanged, ItemsWithdrawn, ProfilesChanged, UserErased
from ai_backend.feedback.events import StatusWatch
from ai_backend.feedback.metrics import ANSWER_COUNTS
from ai_backend.feedback.service import FeedbackService
from ai_backend.feedback.sweeper import Sweeper
from ai_backend.health.service import ReadinessChecks, ScrapeHook
from ai_backend.history.service import HistoryService
from ai_backend.infra.background import close_in_turn
from ai_backend.infra.cache import make_redis
from ai_backend.infra.embedder import Embedder
from ai_backend.infra.keywords import KeywordEncoder
from ai_backend.infra.queue import make_celery
from ai_backend.infra.vector_index import EdgeVectorIndex, ServerVectorIndex, VectorIndex
from ai_backend.recommend.cache import RecommendationCache
from ai_backend.recommend.refresh import ModelRefresher, Trainer
from ai_backend.recommend.service import Recommender
from ai_backend.search.service import SearchService

logger = logging.getLogger(__name__)
CLOSE_STEP_SECONDS = 10.0


def build_embedder(settings: Settings) -> Embedder:
    return Embedder(
        settings.embedding_model,
        backend=settings.embedding_backend,
        quantize=settings.embedding_quantize,
        cache_dir=settings.model_dir,
        batch_size=settings.embedding_batch_size,
    )


class MissingServerError(RuntimeError):
    """The API was started without the servers it needs."""


@dataclass
class Infrastructure:
    """The clients every feature builds on, opened once."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    celery: Celery
    embedder: Embedder
    keywords: KeywordEncoder
    index: VectorIndex
    people_index: VectorIndex
    jwt_key: str

    @classmethod
    async def open(cls, settings: Settings, *, embedder: Embedder | None = None) -> Infrastructure:
        if settings.database_url is None or settings.redis_url is None:
            raise MissingServerError(
                "DATABASE_URL and REDIS_URL must be set for the API process; "
                "`make run` (daodao-ai run) starts embedded servers and sets them for you"
            )
        if embedder is None:
            embedder = await asyncio.to_thread(build_embedder, settings)
        keywords = KeywordEncoder(language=settings.bm25_language)
        index, people_index = await open_indexes(settings, embedder, keywords)
        engine = make_engine(str(settings.database_url))
        redis_url = str(settings.redis_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            redis=make_redis(redis_url, max_connections=settings.redis_max_connections),
            celery=make_celery(settings, redis_url),
            embedder=embedder,
            keywords=keywords,
            index=index,
            people_index=people_index,
            jwt_key=settings.jwt_key(),
        )


@dataclass
class Resources(Infrastructure):
    """The infrastructure with every feature built on it: what one API process holds."""

    tokens: TokenVerifier
    indexer: Indexer
    catalog: CatalogService
    history: HistoryService
    search: SearchService
    reindex: ReindexJobs
    people: PeopleIndexer
    recommender: Recommender
    feedback: FeedbackService
    sweeper: Sweeper
    status_watch: StatusWatch
    readiness: ReadinessChecks
    scrape_hooks: list[ScrapeHook]

    @classmethod
    async def open(cls, settings: Settings, *, embedder: Embedder | None = None) -> Resources:
        """Everything, top to bottom: the infrastructure, then each feature, then who acts on
        whose events."""
        infra = await Infrastructure.open(settings, embedder=embedder)
        sessions, redis, celery = infra.sessions, infra.redis, infra.celery
        events = Events()
        indexer = Indexer(
            sessions,
            index=infra.index,
            embedder=infra.embedder,
            keywords=infra.keywords,
            events=events,
        )
        people = PeopleIndexer(
            sessions, index=infra.people_index, embedder=infra.embedder, keywords=infra.keywords
        )
        recommender = build_recommender(
            infra, rebuilding=lambda: indexer.rebuilding or people.rebuilding
        )
        feedback = FeedbackService(
            sessions, celery, redis, daily_quota=settings.feedback_daily_quota
        )

        # Changed profiles and withdrawn items must never be served from the cache; an erased
        # member leaves no cached answer and no feedback job behind.
        cache = recommender.cache
        events.subscribe(ProfilesChanged, lambda e: cache.invalidate(e.user_ids))
        events.subscribe(ItemsWithdrawn, lambda _: cache.bump_generation())
        events.subscribe(UserErased, lambda e: recommender.forget(e.user_id, e.owned))
        events.subscribe(UserErased, lambda e: feedback.forget(e.user_id, e.owned))
        # A practice's item rewritten by its check-ins reaches the index at once.
        events.subscribe(ItemsChanged, lambda e: indexer.sync(list(e.keys)))

        return cls(
            **{f.name: getattr(infra, f.name) for f in fields(Infrastructure)},
            tokens=TokenVerifier(infra.jwt_key, settings.jwt_issuer),
            indexer=indexer,
            catalog=CatalogService(indexer, people, events),
            history=HistoryService(events),
            search=build_search(infra, rebuilding=lambda: indexer.rebuilding),
            reindex=ReindexJobs(indexer, people, redis),
            people=people,
            recommender=recommender,
            feedback=feedback,
            sweeper=Sweeper(
                sessions,
                celery,
                redis,
                interval=settings.feedback_sweep_seconds,
                resend_after=settings.feedback_resend_seconds,
            ),
            status_watch=StatusWatch(redis),
            readiness=readiness_checks(infra),
            scrape_hooks=[lambda: ANSWER_COUNTS.refresh(redis)],
        )

    def start_background(self) -> None:
        """Work that runs for the process's lifetime: cache invalidations, model refreshes."""
        self.recommender.cache.start()
        self.recommender.models.start()
        self.sweeper.start()
        self.status_watch.start()

    async def close(self) -> None:
        """Stop background work, then close the clients, each step within a deadline."""
        await close_in_turn(
            [
                ("status watch", self.status_watch.close),
                ("feedback sweeper", self.sweeper.close),
                ("model refresher", self.recommender.models.close),
                ("recommendation cache", self.recommender.cache.close),
                ("reindex jobs", self.reindex.cancel_all),
                ("indexer", self.indexer.close),
                ("item index", self.index.close),
                ("people index", self.people_index.close),
                ("redis", self.redis.aclose),
                ("postgres pool", self.engine.dispose),
            ],
            within=CLOSE_STEP_SECONDS,
        )


async def _answers(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def open_indexes(
    settings: Settings, embedder: Embedder, keywords: KeywordEncoder
) -> tuple[VectorIndex, VectorIndex]:
    """The item and people indexes: Qdrant Edge in this process, or collections on QDRANT_URL."""
    items = items_layout(embedder, keywords)
    people = people_layout(embedder, keywords)
    if not settings.qdrant_url:
        return (
            EdgeVectorIndex(settings.vector_dir, embedder.dimension, layout=items),
            EdgeVectorIndex(
                settings.people_vector_dir,
                embedder.dimension,
                keyword_fields=PEOPLE_FIELDS,
                layout=people,
            ),
        )
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    index = await ServerVectorIndex.connect(
        settings.qdrant_url,
        collection=settings.qdrant_collection,
        dimension=embedder.dimension,
        api_key=api_key,
        layout=items,
    )
    people_index = await ServerVectorIndex.connect(
        settings.qdrant_url,
        collection=f"{settings.qdrant_collection}_people",
        dimension=embedder.dimension,
        api_key=api_key,
        keyword_fields=PEOPLE_FIELDS,
        layout=people,
    )
    return index, people_index


def build_search(infra: Infrastructure, *, rebuilding: Callable[[], bool]) -> SearchService:
    settings = infra.settings
    return SearchService(
        index=infra.index,
        embedder=infra.embedder,
        keywords=infra.keywords,
        fusion=settings.search_fusion,
        weights=(settings.search_dense_weight, settings.search_keyword_weight),
        candidates=settings.search_candidates,
        rebuilding=rebuilding,
    )


def build_recommender(infra: Infrastructure, *, rebuilding: Callable[[], bool]) -> Recommender:
    settings, sessions, redis = infra.settings, infra.sessions, infra.redis
    cache = RecommendationCache(
        redis,
        fresh_seconds=settings.reco_fresh_seconds,
        ttl_seconds=settings.reco_ttl_seconds,
        local_entries=settings.reco_local_entries,
    )
    models = ModelRefresher(
        Trainer(
            sessions,
            max_items=settings.reco_model_max_items,
            l2=settings.reco_model_l2,
            half_life_days=settings.reco_half_life_days,
        ),
        redis=redis,
        # Embedded mode trains in this process; with a Qdrant server, a worker does.
        celery=infra.celery if settings.qdrant_url else None,
        interval=settings.reco_refresh_seconds,
    )
    return Recommender(
        sessions=sessions,
        items=infra.index,
        people=infra.people_index,
        keywords=infra.keywords,
        cache=cache,
        models=models,
        half_life_days=settings.reco_half_life_days,
        diversity=settings.reco_diversity,
        embedder=infra.embedder,
        related_passages=infra.embedder.related_passages,
        rebuilding=rebuilding,
    )


def readiness_checks(infra: Infrastructure) -> ReadinessChecks:
    """What `/readyz` asks to answer: PostgreSQL, Redis, the item index, the embedding model."""
    embedder = infra.embedder
    return ReadinessChecks(
        {
            "postgres": lambda: _answers(infra.engine),
            "redis": infra.redis.ping,
            "vector_index": infra.index.count,
            "embedding_model": lambda: asyncio.to_thread(embedder.answers),
        }
    )
