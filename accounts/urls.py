from django.urls import path

from accounts.apis import (
    ActivateApi,
    ActivationCodeApi,
    PasswordChangeApi,
    UserDeactivateApi,
    UserDetailApi,
    UserListApi,
    UserReactivateApi,
    UserReassignApi,
    UserTokensRevokeApi,
)

urlpatterns = [
    path("users/", UserListApi.as_view(), name="user-list"),
    path("users/activation-codes/", ActivationCodeApi.as_view(), name="user-activation-codes"),
    path("users/activate/", ActivateApi.as_view(), name="user-activate"),
    path("users/me/password/", PasswordChangeApi.as_view(), name="user-password-change"),
    path("users/<int:user_id>/", UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:user_id>/deactivate/", UserDeactivateApi.as_view(), name="user-deactivate"),
    path("users/<int:user_id>/reactivate/", UserReactivateApi.as_view(), name="user-reactivate"),
    path("users/<int:user_id>/reassign/", UserReassignApi.as_view(), name="user-reassign"),
    path("users/<int:user_id>/tokens/revoke/", UserTokensRevokeApi.as_view(), name="user-tokens-revoke"),
]
