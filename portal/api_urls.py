"""Everything under /api/v1/: each area contributes its own ``api_urlpatterns``."""

from django.urls import path

from accounts.api_urls import api_urlpatterns as accounts_api
from demos.architectures.urls import api_urlpatterns as architectures_api
from demos.cnn.urls import api_urlpatterns as cnn_api
from demos.lessons.urls import api_urlpatterns as lessons_api
from demos.people.urls import api_urlpatterns as people_api
from portal.lib.api import ApiRootApi

app_name = "api"

urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
    *accounts_api,
    *people_api,
    *cnn_api,
    *architectures_api,
    *lessons_api,
]
