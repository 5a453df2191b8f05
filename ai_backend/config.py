"""Settings from the environment (and an optional `.env`), validated once at start-up."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The models a worker can run itself (feedback/local_models.py says where each comes from).
LocalModel = Literal["smollm2-135m", "qwen2.5-coder-1.5b"]

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Every knob of the service. Unset infrastructure URLs mean "use the embedded default"."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Path(".data")
    # Where model files built or joined on first start go (default DATA_DIR/models); several
    # data folders on one machine can share one.
    model_cache: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    gateway_port: Port = 3000
    embedded_redis_port: Port = 6390

    database_url: str | None = None
    redis_url: str | None = None
    redis_max_connections: Annotated[int, Field(ge=1, le=10_000)] = 64
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "items"

    embedding_model: str | None = None
    embedding_backend: Literal["onnx", "torch", "native"] = "onnx"
    embedding_quantize: Literal["none", "int8"] = "none"
    embedding_batch_size: Annotated[int, Field(ge=1, le=4096)] = 64

    # Hybrid search: how the dense and keyword lists are fused (DBSF, or weighted RRF with these
    # weights), and how many candidates each list brings. Tuned on the dev sets (docs/search.md).
    search_fusion: Literal["dbsf", "rrf"] = "dbsf"
    search_dense_weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    search_keyword_weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    search_candidates: Annotated[int, Field(ge=10, le=1000)] = 150
    bm25_language: str = "english"

    # Recommendations: cache lifetimes (fresh, then served stale while recomputed, then gone),
    # the per-process cache tier, and the collaborative model (see docs/recommendations.md).
    reco_fresh_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300
    reco_ttl_seconds: Annotated[int, Field(ge=2, le=604_800)] = 3600
    reco_local_entries: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000
    reco_refresh_seconds: Annotated[int, Field(ge=5, le=86_400)] = 600
    reco_model_max_items: Annotated[int, Field(ge=10, le=20_000)] = 8000
    reco_model_l2: Annotated[float, Field(gt=0, le=1e6)] = 300.0
    reco_half_life_days: Annotated[float, Field(gt=0, le=3650)] = 30.0
    reco_diversity: Annotated[float, Field(ge=0, le=1)] = 0.15

    # Feedback jobs: a worker's claim on a job lasts FEEDBACK_LEASE_SECONDS (default: the task's
    # hard time limit plus 30 s); the sweeper runs every FEEDBACK_SWEEP_SECONDS and sends a job
    # again when its lease ran out, or when it is still queued FEEDBACK_RESEND_SECONDS after its
    # message went out (a message lost with Redis).
    feedback_lease_seconds: Annotated[int, Field(ge=2, le=86_400)] | None = None
    feedback_sweep_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    feedback_resend_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    # New feedback jobs per member per UTC day, across all API processes.
    feedback_daily_quota: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    # Result callbacks are signed with CALLBACK_SECRET (embedded default: one generated under
    # DATA_DIR, in `callback_secret`); each POST may take CALLBACK_TIMEOUT_SECONDS.
    callback_secret: SecretStr | None = None
    callback_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    # The model a worker runs itself when LLM_BASE_URL is not set (feedback/local_models.py).
    llm_local_model: LocalModel = "qwen2.5-coder-1.5b"
    llm_base_url: AnyHttpUrl | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    # Worker processes (default: 1 with the local model, which then uses every core; 8 with an
    # LLM server, where a worker mostly waits) and llama.cpp threads per process (default: the
    # cores divided among the processes).
    worker_concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    llm_threads: Annotated[int, Field(ge=1, le=256)] | None = None

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "daodao-ai"
    # The main backend's secret for end users' session JWTs, which only the gateway verifies
    # (embedded default: one generated under DATA_DIR, in `session_secret`).
    session_jwt_secret: SecretStr | None = None
    token_default_ttl: Annotated[int, Field(ge=60, le=31_536_000)] = 3600

    # Request guards (see docs/operations.md): the largest request body, the
    # requests one token subject may make per API process (a `limits` string such as
    # "100/second" or "6000/minute"; empty turns it off), and the browser origins allowed to
    # call the API directly (none: the Node side calls it server to server).
    max_body_bytes: Annotated[int, Field(ge=1024, le=1 << 30)] = 8 << 20
    rate_limit: str = "5000/second"
    cors_origins: list[str] = []

    task_soft_time_limit: Annotated[int, Field(ge=1)] = 120
    task_time_limit: Annotated[int, Field(ge=2)] = 150
    broker_visibility_timeout: Annotated[int, Field(ge=10)] = 3600

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    load_demo_data: bool = True

    @field_validator("reco_ttl_seconds")
    @classmethod
    def _ttl_above_fresh(cls, value: int, info: object) -> int:
        fresh = getattr(info, "data", {}).get("reco_fresh_seconds")
        if fresh is not None and value <= fresh:
            raise ValueError("must be greater than RECO_FRESH_SECONDS")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_shape(cls, value: str) -> str:
        if value.strip():
            try:
                limits.parse(value)
            except ValueError as exc:
                raise ValueError(
                    f"'{value}' is not a rate limit: write e.g. 100/second or 6000/minute"
                ) from exc
        return value.strip()

    @field_validator("data_dir", "model_cache")
    @classmethod
    def _absolute_dir(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str | None) -> str | None:
        if value is None or value.startswith("postgresql+asyncpg://"):
            return value
        raise ValueError("must start with postgresql+asyncpg:// (the service talks asyncpg)")

    @field_validator("redis_url")
    @classmethod
    def _redis_url_shape(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("redis://", "rediss://")):
            return value
        raise ValueError("must be a redis:// or rediss:// URL")

    @field_validator("qdrant_url")
    @classmethod
    def _qdrant_url_shape(cls, value: str | None) -> str | None:
        if value is None or value == ":memory:" or value.startswith(("http://", "https://")):
            return value
        raise ValueError("must be an http(s):// URL of a Qdrant server, or ':memory:'")

    @field_validator("task_time_limit")
    @classmethod
    def _hard_limit_above_soft(cls, value: int, info: object) -> int:
        soft = getattr(info, "data", {}).get("task_soft_time_limit")
        if soft is not None and value <= soft:
            raise ValueError("must be greater than TASK_SOFT_TIME_LIMIT")
        return value

    @field_validator("broker_visibility_timeout")
    @classmethod
    def _visibility_above_hard_limit(cls, value: int, info: object) -> int:
        hard = getattr(info, "data", {}).get("task_time_limit")
        if hard is not None and value <= hard:
            # A shorter visibility timeout would redeliver a task that is still running.
            raise ValueError("must be greater than TASK_TIME_LIMIT")
        return value

    @property
    def worker_processes(self) -> int:
        if self.worker_concurrency is not None:
            return self.worker_concurrency
        return 1 if self.llm_base_url is None else 8

    @property
    def llm_thread_count(self) -> int:
        if self.llm_threads is not None:
            return self.llm_threads
        return max(1, (os.cpu_count() or 1) // self.worker_processes)

    @property
    def lease_seconds(self) -> int:
        return self.feedback_lease_seconds or self.task_time_limit + 30

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "valkey"

    @property
    def vector_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def people_vector_dir(self) -> Path:
        return self.data_dir / "qdrant-people"

    @property
    def model_dir(self) -> Path:
        return self.model_cache or self.data_dir / "models"

    def jwt_key(self) -> str:
        """The token signing secret; the embedded default keeps a generated one in DATA_DIR."""
        return self._secret(self.jwt_secret, "jwt_secret")

    def session_key(self) -> str:
        """The end-user session secret the gateway checks; generated in DATA_DIR by default."""
        return self._secret(self.session_jwt_secret, "session_secret")

    def callback_key(self) -> str:
        """The callback signing secret; the embedded default keeps a generated one in DATA_DIR."""
        return self._secret(self.callback_secret, "callback_secret")

    def _secret(self, configured: SecretStr | None, name: str) -> str:
        if configured is not None:
            return configured.get_secret_value()
        path = self.data_dir / name
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{name}.{secrets.token_hex(4)}")
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(48))
            # link() is atomic and refuses to overwrite: concurrent first runs agree on one secret.
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
