from django.urls import path

from audit.apis import AuditListApi

urlpatterns = [
    path("audit/", AuditListApi.as_view(), name="audit-list"),
]
