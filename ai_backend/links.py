"""OpenAPI links: which later call takes an id from a response, for clients and fuzzers alike."""

from __future__ import annotations

from typing import Any


def to(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """A link to the operation at `path` and `method`, filling its parameters by expression
    (`$request.path.user_id`, `$response.body#/job_id`, ...)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def responses(
    model: Any, statuses: tuple[int, ...], **links: dict[str, Any]
) -> dict[int | str, Any]:
    """Response entries for these statuses, each with `model` and the same links."""
    return {status: {"model": model, "links": links} for status in statuses}
