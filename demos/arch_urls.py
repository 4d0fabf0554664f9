"""Architecture, transfer-learning and augmentation lesson endpoints."""

urlpatterns: list = []
api_urlpatterns: list = []
