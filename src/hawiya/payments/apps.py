from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "hawiya.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from .checks import payment_demo_gateway_only_in_demo_mode, payment_gateway_configured

        checks.register(payment_gateway_configured)
        checks.register(payment_demo_gateway_only_in_demo_mode, deploy=True)
