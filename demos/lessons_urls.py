"""Lesson pages under /lessons/ and the lessons/CNN API under /api/v1/.

The CNN visualisations (demos/cnn_urls.py) and the architecture lessons
(demos/arch_urls.py) contribute their own patterns here.
"""

from demos import arch_urls, cnn_urls

app_name = "lessons"

urlpatterns: list = [*cnn_urls.urlpatterns, *arch_urls.urlpatterns]
api_urlpatterns: list = [*cnn_urls.api_urlpatterns, *arch_urls.api_urlpatterns]
