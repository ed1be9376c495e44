from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "hawiya.identity"
    label = "identity"
    verbose_name = _("Digital identity")

    def ready(self) -> None:
        from . import hashers  # noqa: F401  (registers the Argon2 parameters check)
