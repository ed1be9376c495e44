"""Configuration read from the environment, and the checks that refuse unsafe setups."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from hawiya.config import checks

ROOT = Path(__file__).resolve().parents[1]


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HAWIYA_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    clean.pop("SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-c", "import hawiya.config.settings as s; print(s.DATABASES['default']['ENGINE'])"],
        env={**clean, "PYTHONPATH": str(ROOT / "src"), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_server_database_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    result = _load_settings(
        {"DATABASE_URL": "postgres://db.internal/hawiya", "HAWIYA_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_server_database_without_field_keys_refuses_to_start(tmp_path: Path) -> None:
    result = _load_settings(
        {
            "DATABASE_URL": "postgres://db.internal/hawiya",
            "SECRET_KEY": "k" * 50,
            "HAWIYA_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode != 0
    assert "HAWIYA_FIELD_KEYS must be set" in result.stderr
    assert not (tmp_path / "field_keys").exists()


def test_embedded_mode_generates_a_private_field_key_once(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    assert _load_settings({"HAWIYA_VAR_DIR": str(tmp_path)}).returncode == 0
    key_file = tmp_path / "field_keys"
    key = key_file.read_text()
    Fernet(key)  # a valid Fernet key
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be readable by its owner only"
    assert _load_settings({"HAWIYA_VAR_DIR": str(tmp_path)}).returncode == 0
    assert key_file.read_text() == key
    assert sorted(path.name for path in tmp_path.iterdir()) == ["field_keys", "secret_key"]


def test_embedded_mode_generates_a_private_secret_key_once(tmp_path: Path) -> None:
    first = _load_settings({"HAWIYA_VAR_DIR": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    assert "sqlite3" in first.stdout
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be readable by its owner only"
    assert _load_settings({"HAWIYA_VAR_DIR": str(tmp_path)}).returncode == 0
    assert key_file.read_text() == key


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    result = _load_settings(
        {
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
            "SECRET_KEY": "k" * 50,
            "HAWIYA_FIELD_KEYS": "Fu1vd-ZNxYVMdKRV0UKC1EX_sWhfKANhpqYY0bp1iEY=",
            "HAWIYA_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout


@pytest.mark.parametrize(
    ("redis_url", "engine"),
    [
        ("redis://127.0.0.1:6379/0", "hawiya.core.session_store"),
        # Each process's own memory: a sign-out on one would leave the session in the others'.
        ("", "django.contrib.sessions.backends.db"),
    ],
)
def test_sessions_go_through_the_cache_only_when_every_process_shares_it(
    tmp_path: Path, redis_url: str, engine: str
) -> None:
    clean = {
        key: value for key, value in os.environ.items() if not key.startswith(("HAWIYA_", "DATABASE_URL"))
    }
    clean.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import hawiya.config.settings as s; print(s.SESSION_ENGINE)"],
        env={
            **clean,
            "PYTHONPATH": str(ROOT / "src"),
            "HAWIYA_VAR_DIR": str(tmp_path),
            "REDIS_URL": redis_url,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == engine


@pytest.mark.parametrize("hosts", [["127.0.0.1", "localhost"], ["[::1]"], ["hawiya.localhost"]])
def test_demo_mode_on_local_hosts_is_allowed(hosts: list[str]) -> None:
    with override_settings(DEMO=True, ALLOWED_HOSTS=hosts):
        assert checks.demo_mode_only_on_local_hosts(None) == []


def test_demo_mode_on_a_public_host_is_refused() -> None:
    with override_settings(DEMO=True, ALLOWED_HOSTS=["127.0.0.1", "hawiya.gov.sa"]):
        errors = checks.demo_mode_only_on_local_hosts(None)
    assert [error.id for error in errors] == ["hawiya.E001"]
    assert "hawiya.gov.sa" in errors[0].msg


def test_public_host_without_demo_mode_is_fine() -> None:
    with override_settings(DEMO=False, ALLOWED_HOSTS=["hawiya.gov.sa"]):
        assert checks.demo_mode_only_on_local_hosts(None) == []


def test_pdf_renderer_is_available() -> None:
    assert checks.pdf_renderer_available(None) == []


def test_deploy_check_passes_with_demo_mode_off(tmp_path: Path) -> None:
    """`manage.py check --deploy` is clean for a production-like environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HAWIYA_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env = {
        **clean,
        "SECRET_KEY": "production-like-" + "x" * 60,
        # The new key first, the previous one still accepted.
        "HAWIYA_FIELD_KEYS": (
            "Fu1vd-ZNxYVMdKRV0UKC1EX_sWhfKANhpqYY0bp1iEY=,Xp7a0qp7lJmQ0cTkTQm6u7P9vPzYp4m3H2ZJpZ3a1Wc="
        ),
        "ALLOWED_HOSTS": "hawiya.example.sa",
        "HAWIYA_SMS_CLIENT": "http",
        "SMS_OPERATOR_URL": "https://sms.operator.example/api",
        "SMS_OPERATOR_TOKEN": "test",
        "SMS_OPERATOR_WEBHOOK_SECRET": "test",
        "HAWIYA_SMS_DOMAIN": "hawiya.example.sa",
        "HAWIYA_PAYMENT_GATEWAY": "http",
        "HAWIYA_PAYMENT_GATEWAY_URL": "https://pay.example/api",
        "HAWIYA_PAYMENT_API_KEY": "test",
        "HAWIYA_PAYMENT_WEBHOOK_SECRET": "test",
        "HAWIYA_COURIER": "http",
        "HAWIYA_COURIER_URL": "https://courier.example/api",
        "HAWIYA_COURIER_API_TOKEN": "test",
        "HAWIYA_COURIER_KEY_ID": "courier-1",
        "HAWIYA_COURIER_SECRET": "s" * 40,
        "HAWIYA_FINGERPRINT_SCANNER": "http",
        "HAWIYA_FINGERPRINT_SCANNER_URL": "http://127.0.0.1:8765",
        "HAWIYA_BIOMETRIC_MATCHER": "http",
        "HAWIYA_BIOMETRIC_MATCHER_URL": "https://abis.example/api",
        "HAWIYA_BIOMETRIC_MATCHER_TOKEN": "test",
        "HAWIYA_OIDC_ISSUER": "https://hawiya.example.sa",
        "HAWIYA_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_refuses_a_local_issuer(settings):
    settings.DEMO = False
    settings.HAWIYA_OIDC_ISSUER = "http://127.0.0.1:8000"
    assert [error.id for error in checks.oidc_issuer_is_public_https(None)] == ["hawiya.E004"]
    settings.HAWIYA_OIDC_ISSUER = "https://hawiya.example.sa"
    assert checks.oidc_issuer_is_public_https(None) == []
