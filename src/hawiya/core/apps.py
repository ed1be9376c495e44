from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "hawiya.core"
    label = "core"
