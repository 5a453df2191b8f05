"""Bad settings stop start-up with a message naming the variable; docker-compose.yml parses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from ai_backend.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "ai_backend.cli"]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("API_PORT", "not-a-port", "API_PORT"),
        ("API_PORT", "70000", "API_PORT"),
        ("DATABASE_URL", "mysql://x", "postgresql+asyncpg"),
        ("REDIS_URL", "http://x", "redis://"),
        ("QDRANT_URL", "qdrant.local", "http(s)"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("BROKER_VISIBILITY_TIMEOUT", "60", "TASK_TIME_LIMIT"),
        ("LLM_LOCAL_MODEL", "gpt-5", "qwen2.5-coder-1.5b"),
    ],
)
def test_invalid_setting_fails_readably(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), variable: value}
    result = subprocess.run(
        [*CLI, "token"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert variable in result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_token_command_mints_a_token_for_the_running_configuration(tmp_path: Path) -> None:
    import jwt

    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("JWT_SECRET", None)
    result = subprocess.run(
        [*CLI, "token", "--scopes", "read,admin", "--sub", "ops", "--ttl", "120"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    secret = Settings(data_dir=tmp_path).jwt_key()
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"], issuer="daodao-ai")
    assert claims["sub"] == "ops"
    assert set(claims["scope"].split()) == {"read", "admin"}
    assert claims["exp"] - claims["iat"] == 120
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0, "the secret is private"

    bad = subprocess.run(
        [*CLI, "token", "--scopes", "read,root"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "root" in bad.stderr


def test_settings_reject_soft_limit_above_hard() -> None:
    with pytest.raises(ValidationError, match="TASK_SOFT_TIME_LIMIT"):
        Settings(task_soft_time_limit=200, task_time_limit=100)


def test_docker_compose_file_parses() -> None:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian package) is installed by `make test`"
    result = subprocess.run(
        [compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "JWT_SECRET": "x" * 40,
            "CALLBACK_SECRET": "y" * 40,
            "SESSION_JWT_SECRET": "z" * 40,
        },
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "postgres",
        "redis",
        "qdrant",
        "migrate",
        "api",
        "worker",
        "gateway",
    }
