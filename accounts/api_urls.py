from django.urls import path

from accounts.api import ClassJoinApi, LogoutEverywhereApi, MeApi, TokenObtainApi

api_urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path(
        "auth/logout-everywhere/",
        LogoutEverywhereApi.as_view(),
        name="logout-everywhere",
    ),
    path("me/", MeApi.as_view(), name="me"),
    path("classes/join/", ClassJoinApi.as_view(), name="class-join"),
]
