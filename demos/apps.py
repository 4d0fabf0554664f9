from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemosConfig(AppConfig):
    name = "demos"
    verbose_name = _("Demos and lessons")

    def ready(self) -> None:
        # Register the Celery tasks in every process (web and worker): jobs are
        # sent by task name, so nothing else imports demos.tasks.
        import demos.tasks  # noqa: F401
