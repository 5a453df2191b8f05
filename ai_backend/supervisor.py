"""`daodao-ai run`: embedded servers, migrations, demo data, then the API, a worker and the gateway.

The supervisor owns every lifetime: SIGINT or SIGTERM stops the children (each in its own process
group, so grandchildren such as Celery's pool go too), then the embedded servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ai_backend.config import Settings
from ai_backend.infra.embedded import (
    EmbeddedPostgres,
    EmbeddedServerError,
    EmbeddedValkey,
    port_is_free,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STOP_GRACE_SECONDS = 15.0


class StartupError(RuntimeError):
    """Start-up cannot go on; the message tells the user what to do."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    # Scheduling niceness (0: the default). Background work yields the cores to the API.
    nice: int = 0
    process: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = field(default=None, repr=False)


def say(name: str, line: str) -> None:
    sys.stdout.write(f"{name:<10}| {line}\n")
    sys.stdout.flush()


def child_commands(settings: Settings, env: dict[str, str]) -> list[Child]:
    """The API, the worker and the gateway, as the stack runs them."""
    node = shutil.which("node")
    if node is None:
        raise StartupError("node is not on PATH: install Node.js 20 (the gateway needs it)")
    return [
        Child("api", _api_command(settings), env),
        # On one machine the LLM would otherwise take the cores the API needs to answer in
        # milliseconds; niced, it still gets every cycle the API leaves idle.
        Child("worker", _worker_command(settings), env, nice=10),
        Child(
            "gateway",
            [node, str(PROJECT_ROOT / "node_gateway" / "src" / "server.js")],
            _gateway_env(settings, env),
        ),
    ]


def _api_command(settings: Settings) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "ai_backend.app:factory", "--factory"),
        *("--host", settings.api_host, "--port", str(settings.api_port)),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
        *("--timeout-graceful-shutdown", "10"),
    ]


def _worker_command(settings: Settings) -> list[str]:
    return [
        *(sys.executable, "-m", "celery", "-A", "worker.celery_app:app", "worker"),
        *("--loglevel", "INFO", "--pool", "prefork"),
        *("--concurrency", str(settings.worker_processes), "--hostname", "worker1@%h"),
    ]


def _gateway_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The gateway verifies end users' sessions and mints service tokens for them; it never
    reaches the servers behind the API."""
    return {
        "PORT": str(settings.gateway_port),
        "HOST": "127.0.0.1",
        "AI_API_URL": f"http://{settings.api_host}:{settings.api_port}",
        "LOG_LEVEL": settings.log_level.lower(),
        "JWT_SECRET": env["JWT_SECRET"],
        "JWT_ISSUER": settings.jwt_issuer,
        "SESSION_JWT_SECRET": settings.session_key(),
        # A local stack lets the console sign in as a demo member.
        "GATEWAY_DEV_LOGIN": os.environ.get("GATEWAY_DEV_LOGIN", "true"),
    }


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.postgres: EmbeddedPostgres | None = None
        self.valkey: EmbeddedValkey | None = None
        self.children: list[Child] = []

    def check_ports(self) -> None:
        wanted = {"API_PORT": self.settings.api_port, "GATEWAY_PORT": self.settings.gateway_port}
        if self.settings.embedded_redis:
            wanted["EMBEDDED_REDIS_PORT"] = self.settings.embedded_redis_port
        for variable, port in wanted.items():
            if not port_is_free(port, self.settings.api_host):
                raise StartupError(
                    f"port {port} ({variable}) is already in use: stop whatever listens there "
                    f"(`ss -ltnp 'sport = :{port}'` shows it) or set {variable} to a free port"
                )

    def start_servers(self) -> dict[str, str]:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            "DATA_DIR": str(settings.data_dir),
            "PYTHONUNBUFFERED": "1",
            # Generate the development secret once, before any child races to do it.
            "JWT_SECRET": settings.jwt_key(),
        }
        try:
            if settings.database_url is None:
                say("postgres", f"starting embedded PostgreSQL in {settings.postgres_dir}")
                self.postgres = EmbeddedPostgres(settings.postgres_dir)
                env["DATABASE_URL"] = self.postgres.start()
            else:
                env["DATABASE_URL"] = str(settings.database_url)
            if settings.redis_url is None:
                say("valkey", f"starting embedded Valkey on port {settings.embedded_redis_port}")
                self.valkey = EmbeddedValkey(settings.redis_dir, settings.embedded_redis_port)
                env["REDIS_URL"] = self.valkey.start()
            else:
                env["REDIS_URL"] = str(settings.redis_url)
        except EmbeddedServerError as exc:
            raise StartupError(str(exc)) from exc
        return env

    def stop_servers(self) -> None:
        if self.valkey is not None:
            say("valkey", "stopping")
            self.valkey.stop()
        if self.postgres is not None:
            say("postgres", "stopping")
            self.postgres.stop()

    async def _pump(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        async for raw in child.process.stdout:
            say(child.name, raw.decode(errors="replace").rstrip("\n"))

    async def spawn(self, child: Child) -> None:
        # `nice` execs the command, so the process (and every process it forks, such as Celery's
        # pool) runs at that niceness from its first instruction.
        prefix = ["nice", "-n", str(child.nice)] if child.nice else []
        child.process = await asyncio.create_subprocess_exec(
            *prefix,
            *child.argv,
            env={**os.environ, **child.env},
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        child.pump = asyncio.create_task(self._pump(child))
        say(child.name, f"started (pid {child.process.pid})")

    async def stop_children(self) -> None:
        running = [c for c in self.children if c.process and c.process.returncode is None]
        for child in running:
            assert child.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        for child in running:
            assert child.process is not None
            try:
                await asyncio.wait_for(child.process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                say(child.name, "did not stop in time; killing it")
        # Whatever survived the grace period (or was orphaned in the group) is killed outright.
        for child in self.children:
            if child.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                await child.process.wait()
        pumps = [c.pump for c in self.children if c.pump is not None]
        await asyncio.gather(*pumps, return_exceptions=True)

    async def _watch_parent(self, stop: asyncio.Event) -> None:
        # `make run` killed by SIGTERM does not pass the signal on; being orphaned means stop.
        parent = os.getppid()
        while not stop.is_set():
            if os.getppid() != parent:
                say("supervisor", "parent process exited")
                stop.set()
            await asyncio.sleep(0.5)

    async def serve(self, env: dict[str, str]) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        watcher = asyncio.create_task(self._watch_parent(stop))
        self.children = child_commands(self.settings, env)
        exit_code = 0
        try:
            for child in self.children:
                await self.spawn(child)
            waits = {asyncio.create_task(c.process.wait()): c for c in self.children if c.process}
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopper, *waits], return_when=asyncio.FIRST_COMPLETED)
            if stopper not in done:
                for task in done:
                    child = waits[task]
                    say(child.name, f"exited unexpectedly with status {task.result()}")
                exit_code = 1
            else:
                say("supervisor", "stopping")
            stopper.cancel()
            for task in waits:
                task.cancel()
        finally:
            watcher.cancel()
            await self.stop_children()
        return exit_code


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(settings: Settings) -> int:
    """Run everything in the foreground until a signal; return the exit status."""
    from ai_backend.db.migrate import upgrade
    from ai_backend.demo.loader import load_demo_if_empty

    # Until serve() installs its own handlers, SIGTERM unwinds like Ctrl-C so servers still stop.
    signal.signal(signal.SIGTERM, _interrupt)
    supervisor = Supervisor(settings)
    try:
        supervisor.check_ports()
        env = supervisor.start_servers()
        say("migrate", "alembic upgrade head")
        upgrade(env["DATABASE_URL"])
        if settings.load_demo_data:
            loaded = asyncio.run(load_demo_if_empty(env["DATABASE_URL"]))
            say("demo", loaded)
        return asyncio.run(supervisor.serve(env))
    except StartupError as exc:
        say("supervisor", f"cannot start: {exc}")
        return 2
    except KeyboardInterrupt:
        say("supervisor", "interrupted during start-up")
        return 130
    finally:
        supervisor.stop_servers()
