"""URLconf of the demos app at /demos/ (namespace "demos"): the person demo.

Each area owns its routes (``demos/<area>/urls.py``); the lessons, CNN and
architecture routes are included under /lessons/ by ``portal/urls.py``.
"""

from demos.people.urls import urlpatterns

app_name = "demos"

__all__ = ["app_name", "urlpatterns"]
