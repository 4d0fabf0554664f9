"""The routes of every widget module, collected: ``urlpatterns`` are included at
/lessons/ (namespace "lessons") before the lesson pages' ``<slug>/`` catch-all,
``api_urlpatterns`` at /api/v1/ (namespace "api"). Each widget module owns its
routes (``page_urls``, ``api_urls``); route names are unique across the project.
"""

from __future__ import annotations

from demos.widgets.registry import WIDGET_MODULES

urlpatterns: list = [route for module in WIDGET_MODULES for route in module.page_urls]
api_urlpatterns: list = [
    route for module in WIDGET_MODULES for route in module.api_urls
]
