"""`/healthz` and `/readyz` (no auth), plus authenticated diagnostics under `/v1/system`."""

from __future__ import annotations

from typing import Annotated

from celery import Celery
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ai_backend.deps import AdminPrincipal, ReadPrincipal, provided
from ai_backend.errors import error_response
from ai_backend.health.schemas import Health, Readiness, WhoAmI, WorkerPing
from ai_backend.health.service import ReadinessChecks, ScrapeHook, ping_worker
from ai_backend.openapi import ErrorBody

router = APIRouter()
system = APIRouter(prefix="/v1/system", tags=["system"])
ReadinessDep = Annotated[ReadinessChecks, provided("readiness")]
ScrapeHooksDep = Annotated[list[ScrapeHook], provided("scrape_hooks")]
CeleryDep = Annotated[Celery, provided("celery")]


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["health"],
    responses={503: {"model": ErrorBody, "description": "a dependency does not answer"}},
)
async def readyz(readiness: ReadinessDep) -> Readiness | JSONResponse:
    """Ready only when PostgreSQL, Redis, the vector index and the embedding model answer."""
    checks = await readiness.report()
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        return error_response(
            503,
            "not_ready",
            f"not ready: {', '.join(failing)} not answering",
            details={"checks": checks},
            headers={"Retry-After": "5"},
        )
    return Readiness(status="ready", checks=checks)


@router.get("/metrics", include_in_schema=False)
async def metrics(hooks: ScrapeHooksDep) -> Response:
    """Prometheus metrics, with the counts the workers keep in Redis (the feedback counts)."""
    for hook in hooks:
        await hook()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@system.get("/whoami", response_model=WhoAmI)
async def whoami(principal: ReadPrincipal) -> WhoAmI:
    """The token's subject and scopes, as this service sees them."""
    return WhoAmI(subject=principal.subject, scopes=sorted(principal.scopes))


@system.post("/worker-ping", response_model=WorkerPing)
async def worker_ping(_: AdminPrincipal, celery: CeleryDep) -> WorkerPing:
    """Send a `system.ping` task through the queue and wait for a worker to answer."""
    return await ping_worker(celery)
