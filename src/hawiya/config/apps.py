from django.apps import AppConfig


class HawiyaConfig(AppConfig):
    """Registers the platform-wide system checks (config/checks.py)."""

    name = "hawiya.config"
    label = "hawiya_config"
    verbose_name = "Hawiya"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
