"""Person demo pages under /demos/ and its API (mounted by portal/api_urls.py)."""

app_name = "demos"

urlpatterns: list = []
api_urlpatterns: list = []
