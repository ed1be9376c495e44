from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "hawiya.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from .checks import courier_configured, courier_demo_only_in_demo_mode

        checks.register(courier_configured)
        checks.register(courier_demo_only_in_demo_mode, deploy=True)
