"""The layering rules of docs/design.md §3 that import-linter cannot see."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "hawiya"
INTERFACE_APPS = ("portal", "backoffice", "oidc", "api")


def _interface_sources() -> list[Path]:
    return [
        path
        for app in INTERFACE_APPS
        if (SRC / app).is_dir()
        for path in (SRC / app).rglob("*.py")
        if "tests" not in path.parts
    ]


def test_interface_apps_never_query_models_directly() -> None:
    """Pages and APIs go through selectors and services, so authorisation is never skipped."""
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in _interface_sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\.objects\b|\._default_manager\b|\.raw\(", line)
    ]
    assert _interface_sources(), "the portal app should exist"
    assert offenders == [], f"interface apps must call selectors/services, not Model.objects: {offenders}"


def test_interface_apps_have_no_models() -> None:
    assert [app for app in INTERFACE_APPS if (SRC / app / "models.py").exists()] == []


def _catalogues() -> list[Path]:
    return sorted(SRC.glob("*/locale/ar/LC_MESSAGES/django.po"))


def test_every_app_with_strings_has_an_arabic_catalogue() -> None:
    apps_with_catalogues = {path.parts[-5] for path in _catalogues()}
    assert {
        "api",
        "appointments",
        "audit",
        "casework",
        "core",
        "identity",
        "losses",
        "notifications",
        "payments",
        "portal",
        "registry",
        "replacements",
    } <= apps_with_catalogues


@pytest.mark.parametrize("catalogue", _catalogues(), ids=lambda path: path.parts[-5])
def test_arabic_catalogue_is_complete(catalogue: Path) -> None:
    """Arabic is the first language: no untranslated or fuzzy message may ship."""
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalogue)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr


# A citation of a design note kept outside the repository: `../shared/...`, or an upper-case
# DESIGN.md / UI.md not preceded by `docs/` (the notes live in the repository as docs/design.md and
# docs/ui.md, which may be named anywhere).
_OUTSIDE_CITATION = re.compile(r"\.\./shared/|(?<!docs/)\b(?:DESIGN|UI)\.md\b")


def _outside_citations(text: str) -> list[str]:
    return [match.group(0) for match in _OUTSIDE_CITATION.finditer(text)]


def test_outside_citation_pattern_catches_what_a_fresh_clone_cannot_resolve() -> None:
    assert _outside_citations("see DESIGN.md §4 and UI.md §6, or ../shared/notes.txt") == [
        "DESIGN.md",
        "UI.md",
        "../shared/",
    ]
    assert _outside_citations("see docs/design.md §4 and docs/ui.md §6 (docs/ui.md)") == []


def test_every_citation_points_inside_the_repository() -> None:
    """A fresh clone resolves every design reference: docs/design.md and docs/ui.md, nothing beside it."""
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()
    offenders = [
        f"{name}:{number}: {citation}"
        for name in tracked
        if name and name != this_file and (ROOT / name).is_file()
        for number, line in enumerate(
            (ROOT / name).read_bytes().decode("utf-8", errors="ignore").splitlines(), start=1
        )
        for citation in _outside_citations(line)
    ]
    assert len(tracked) > 100, "the test must run inside the git checkout"
    assert offenders == [], f"cite docs/design.md or docs/ui.md instead: {offenders}"
