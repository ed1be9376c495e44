from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "hawiya.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from .checks import sms_client_configured, sms_demo_client_only_in_demo_mode

        checks.register(sms_client_configured)
        checks.register(sms_demo_client_only_in_demo_mode, deploy=True)
