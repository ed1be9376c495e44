"""The payment settings come from the environment, and the README's configuration table names
each of them."""

from __future__ import annotations

import importlib.util
import re
import runpy
from pathlib import Path

import pytest
from django.conf import settings

# Found by name, not imported: the apps sit below config (import-linter).
SETTINGS_FILE = str(importlib.util.find_spec("hawiya.config.settings").origin)  # type: ignore[union-attr]

PAYMENT_SETTING = re.compile(r"^(HAWIYA_PAYMENT_[A-Z_]+) =", re.MULTILINE)


def _settings_with(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, object]:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # A fresh evaluation of the module: the settings Django runs with are left as they are.
    return runpy.run_path(SETTINGS_FILE)


def test_the_checkout_host_and_the_callback_failure_limit_come_from_the_environment(monkeypatch) -> None:
    read = _settings_with(
        monkeypatch,
        HAWIYA_PAYMENT_CHECKOUT_HOST="checkout.gateway.example",
        HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT="7",
    )
    assert read["HAWIYA_PAYMENT_CHECKOUT_HOST"] == "checkout.gateway.example"
    assert read["HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT"] == 7


def test_the_checkout_host_and_the_callback_failure_limit_have_defaults(monkeypatch) -> None:
    monkeypatch.delenv("HAWIYA_PAYMENT_CHECKOUT_HOST", raising=False)
    monkeypatch.delenv("HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT", raising=False)
    read = _settings_with(monkeypatch)
    assert read["HAWIYA_PAYMENT_CHECKOUT_HOST"] == ""  # the API's host
    assert read["HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT"] == 20


def test_every_payment_setting_is_in_the_readme_configuration_table() -> None:
    names = PAYMENT_SETTING.findall(Path(SETTINGS_FILE).read_text())
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = {line for line in readme.splitlines() if line.startswith("| `HAWIYA_PAYMENT_")}
    missing = [name for name in names if not any(f"`{name}`" in line for line in table)]
    assert "HAWIYA_PAYMENT_CHECKOUT_HOST" in names
    assert missing == []
