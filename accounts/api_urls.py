from django.urls import path

from accounts.api import MeApi, TokenObtainApi

api_urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("me/", MeApi.as_view(), name="me"),
]
