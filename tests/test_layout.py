"""The README's map of the code is true: its layout names every package and module that exists and
nothing that does not, and its route table names real routes in the files that define them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ai_backend.app import create_app
from ai_backend.openapi import openapi_json

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# Routes outside the OpenAPI document (metrics) or written as a family (/v1/system/*).
UNDOCUMENTED = {"/metrics", "/v1/system/*"}
PREFIXES = ("/v1/admin", "/v1/system", "/v1")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : None if end < 0 else end]


def test_the_layout_names_every_package_and_only_real_paths() -> None:
    block = section("## Layout").split("```")[1]
    named = set(re.findall(r"(?<![/\w.])[\w.]+(?:/|\.py)", block))
    package = ROOT / "ai_backend"
    for child in package.iterdir():
        if child.is_dir() and (child / "__init__.py").exists():
            assert f"{child.name}/" in named, f"the layout leaves out ai_backend/{child.name}/"
        elif child.suffix == ".py" and child.name != "__init__.py":
            assert child.name in named, f"the layout leaves out ai_backend/{child.name}"
    for name in named:
        places = (ROOT, package, ROOT / "node_gateway", ROOT / "node_gateway" / "src")
        found = any((place / name).exists() for place in places)
        assert found, f"the layout names {name}, which does not exist"


def test_the_route_map_names_real_routes_in_the_files_that_define_them() -> None:
    document = json.loads(openapi_json(create_app()))
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section("### Where each route lives").splitlines()
        if line.startswith("| `")
    ]
    mapped = set()
    for routes_cell, module, services in rows:
        for methods, path in re.findall(r"`([A-Z/]+) (/[^`]*)`", routes_cell):
            mapped.add(path)
            if path in UNDOCUMENTED:
                continue
            for method in methods.split("/"):
                assert method.lower() in document["paths"].get(path, {}), f"{method} {path}"
            relative = next((path[len(p) :] for p in PREFIXES if path.startswith(p + "/")), path)
            source = (ROOT / "ai_backend" / module.strip("`")).read_text()
            assert f'"{relative}"' in source, f"{path} is not defined in {module}"
        for service in re.findall(r"`([\w/]+\.py)`", services):
            assert (ROOT / "ai_backend" / service).exists(), service
    # And every documented route is on the map.
    for path in document["paths"]:
        assert path in mapped or path.startswith("/v1/system/"), f"{path} is not on the map"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_readme_and_docs_lead_somewhere() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name} links to {target}, which does not exist"
            if anchor and linked.suffix == ".md":
                headings = re.findall(r"(?m)^#+ (.+)$", linked.read_text())
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: #{anchor}"


def test_test_folders_mirror_the_packages() -> None:
    packages = {c.name for c in (ROOT / "ai_backend").iterdir() if (c / "__init__.py").exists()}
    folders = {c.name for c in (ROOT / "tests").iterdir() if (c / "__init__.py").exists()}
    assert folders <= packages, f"test folders that mirror no package: {folders - packages}"
    features = {"catalog", "history", "search", "recommend", "feedback", "health"}
    assert features <= folders, f"features without a test folder: {features - folders}"
    # Private servers are started in one place (tests/stack.py), and the shared ones in conftest.
    starts = re.compile(r"Embedded(?:Postgres|Valkey)\(")
    for test in (ROOT / "tests").rglob("test_*.py"):
        assert not starts.search(test.read_text(encoding="utf-8")), f"{test} starts servers"
