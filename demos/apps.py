from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemosConfig(AppConfig):
    name = "demos"
    verbose_name = _("Demos and lessons")
