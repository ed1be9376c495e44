from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "hawiya.registry"
    label = "registry"
    verbose_name = _("Civil register")

    def ready(self) -> None:
        from .checks import biometric_matcher_configured, demo_biometric_matcher_only_in_demo_mode

        checks.register(biometric_matcher_configured)
        checks.register(demo_biometric_matcher_only_in_demo_mode, deploy=True)
