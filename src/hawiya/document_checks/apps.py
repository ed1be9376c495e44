from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentChecksConfig(AppConfig):
    name = "hawiya.document_checks"
    label = "document_checks"
    verbose_name = _("Document-status checks")
