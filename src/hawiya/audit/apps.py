from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "hawiya.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from .checks import audit_retired_keys_valid, audit_signing_key_configured

        checks.register(audit_signing_key_configured)
        checks.register(audit_retired_keys_valid)
