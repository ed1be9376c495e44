from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReplacementsConfig(AppConfig):
    name = "hawiya.replacements"
    label = "replacements"
    verbose_name = _("Replacement requests")
