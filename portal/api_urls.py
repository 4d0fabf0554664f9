"""Everything under /api/v1/: each area contributes its own ``api_urlpatterns``."""

from django.urls import path

from accounts.api_urls import api_urlpatterns as accounts_api
from demos.lessons.urls import api_urlpatterns as lessons_api
from demos.people.urls import api_urlpatterns as people_api
from demos.widgets.urls import api_urlpatterns as widgets_api
from portal.lib.api import ApiRootApi

app_name = "api"

urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
    *accounts_api,
    *people_api,
    *widgets_api,
    *lessons_api,
]
