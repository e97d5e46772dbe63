"""pyproject.toml asks only for what exists: every extra it names is one its package
declares (pip only warns about a missing one, on every install, and installs nothing)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        names += extra
    return [Requirement(name) for name in names]


@pytest.mark.parametrize("requirement", [r for r in _requirements() if r.extras], ids=str)
def test_every_extra_asked_for_is_declared_by_its_package(requirement: Requirement) -> None:
    try:
        metadata = importlib.metadata.metadata(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{requirement.name} is not installed here")
    declared = {e.lower() for e in metadata.get_all("Provides-Extra") or []}
    assert requirement.extras <= declared, (
        f"{requirement.name} declares the extras {sorted(declared)}, not {sorted(requirement.extras - declared)}")


def test_the_celery_broker_client_is_a_dependency() -> None:
    assert "redis" in {r.name for r in _requirements()}
    importlib.metadata.version("redis")


def test_the_package_ships_every_file_it_reads() -> None:
    """What a non-editable install (the Docker image) holds: every package under src/,
    the schema revisions included, and every other file the package reads, each matched
    by a pattern of [tool.setuptools.package-data]."""
    from setuptools import find_packages

    src = PYPROJECT.parent / "src"
    tool = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = set(find_packages(str(src)))
    for folder in (src / "grassroots").rglob("*.py"):
        package = ".".join(folder.parent.relative_to(src).parts)
        assert package in packages, f"{folder}: its folder has no __init__.py"
    patterns = tool["package-data"]["grassroots"]
    root = src / "grassroots"
    for path in root.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            relative = path.relative_to(root)
            assert any(relative.match(p) for p in patterns), f"{relative}: not in package-data"
