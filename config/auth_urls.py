from django.urls import path

from config.auth_apis import SessionApi, TokenApi, TokenRevokeApi

urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path("auth/token/revoke/", TokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("auth/session/", SessionApi.as_view(), name="auth-session"),
]
