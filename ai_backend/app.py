"""The FastAPI application: `create_app()` wires settings, resources, middleware and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_fastapi_instrumentator import Instrumentator

from ai_backend import __version__
from ai_backend.catalog.routes import admin as admin_router
from ai_backend.catalog.routes import router as catalog_router
from ai_backend.config import Settings, get_settings
from ai_backend.deps import token_failure
from ai_backend.errors import install_error_handlers
from ai_backend.feedback.routes import router as feedback_router
from ai_backend.guards import BodySizeLimit, RateLimit
from ai_backend.health.routes import router as health_router
from ai_backend.health.routes import system as system_router
from ai_backend.history.routes import checkins as checkins_router
from ai_backend.history.routes import events as events_router
from ai_backend.identity import Identify
from ai_backend.infra.background import close_in_turn
from ai_backend.infra.embedder import Embedder
from ai_backend.observability import RequestIdMiddleware, configure_logging
from ai_backend.openapi import PROTECTED_ERRORS, declare_bearer_auth
from ai_backend.recommend.fastpath import CachedRecommendations
from ai_backend.recommend.routes import admin as recommend_admin_router
from ai_backend.recommend.routes import router as recommend_router
from ai_backend.resources import CLOSE_STEP_SECONDS, Resources
from ai_backend.search.routes import router as search_router

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; pass `embedder` to share an already loaded model (tests do)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = await Resources.open(settings, embedder=embedder)
        app.state.resources = resources
        # The index is derived data: bring it in step with PostgreSQL without delaying start-up.
        syncing = asyncio.create_task(sync_indexes(resources))
        syncing.add_done_callback(_report_sync)
        app.state.index_sync = syncing
        resources.start_background()
        logger.info("api started", extra={"port": settings.api_port})
        try:
            yield
        finally:
            # A failed sync was reported when it ended (_report_sync): only its stop counts here.
            syncing.cancel()
            stopped = asyncio.gather(syncing, return_exceptions=True)
            await close_in_turn([("index sync", lambda: stopped)], within=CLOSE_STEP_SECONDS)
            await resources.close()
            logger.info("api stopped")

    app = FastAPI(
        title="daodao-ai",
        version=__version__,
        summary="Recommendations, semantic search and AI feedback for learning communities.",
        lifespan=lifespan,
    )
    install_error_handlers(app, guard=token_failure)
    _install_middleware(app, settings)
    app.include_router(health_router)
    for router in (
        system_router,
        catalog_router,
        checkins_router,
        search_router,
        events_router,
        recommend_router,
        feedback_router,
        admin_router,
        recommend_admin_router,
    ):
        app.include_router(router, responses=PROTECTED_ERRORS)
    declare_bearer_auth(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Each `add_middleware` wraps what came before: the last added runs first."""
    # Innermost: fresh cached recommendations skip routing; the guards run before them.
    app.add_middleware(CachedRecommendations)
    app.add_middleware(RateLimit, limit=settings.rate_limit or None)
    # Verifies the token once; everything inside reads the caller it resolved.
    app.add_middleware(Identify)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # Off by default: only origins named in CORS_ORIGINS may call the API from a browser.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    # /metrics itself is a health route (it also reads the workers' feedback counts).
    Instrumentator(excluded_handlers=["/metrics"]).instrument(app)
    # Added last so it wraps everything, including the metrics middleware and error handlers.
    app.add_middleware(RequestIdMiddleware)


async def sync_indexes(resources: Resources) -> int:
    """Bring the vector indexes in step with PostgreSQL; return how many items were indexed."""
    items = await resources.indexer.resync_if_empty()
    people = await resources.people.resync_if_empty()
    if items or people:
        # Answers cached before the catalogue was in the index (a member asking while it was
        # being filled) lack what just arrived: retire them rather than serve them as fresh.
        await resources.recommender.cache.bump_generation()
    return items


def _report_sync(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    if (exc := task.exception()) is not None:
        logger.error("vector index sync failed", exc_info=exc)
    elif task.result():
        logger.info("vector index synced", extra={"items": task.result()})


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory ai_backend.app:factory`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
