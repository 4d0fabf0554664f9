from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModelsStoreConfig(AppConfig):
    name = "models_store"
    verbose_name = _("Model store")
