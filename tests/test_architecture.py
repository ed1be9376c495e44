"""The layering rules of DESIGN.md §3 that import-linter cannot see."""

import re
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hawiya"
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
