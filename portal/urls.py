"""Top-level URLs. Each app owns its paths; the API lives under /api/v1/."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import health, views

admin.site.site_header = _("DL Bootcamp administration")
admin.site.site_title = _("DL Bootcamp admin")
admin.site.index_title = _("Manage the portal")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("demos/", include("demos.urls")),
    path("lessons/", include("demos.lessons.urls")),
    path("teach/", include("demos.teach.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves Swagger UI's init script as a file (?script), so
        # the page works under the strict CSP (no inline script, no nonce).
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("i18n/setlang/", set_language, name="set-language"),
    path("admin/", admin.site.urls),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
