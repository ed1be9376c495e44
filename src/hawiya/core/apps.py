from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "hawiya.core"
    label = "core"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .logs import connect_task_request_ids

        connect_task_request_ids()
