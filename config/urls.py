from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.apis import HealthApi
from config.metrics import metrics

urlpatterns = [
    path("api/health/", HealthApi.as_view(), name="health"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("config.auth_urls")),
    path("api/v1/", include("borrowers.urls")),
    path("api/v1/", include("banks.urls")),
    path("api/v1/", include("loans.urls")),
    path("api/v1/", include("audit.urls")),
    path("api/v1/", include("reports.urls")),
    path("api/v1/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("web.urls")),
]

# The database not answering is 503 with Retry-After, not 500 (config/errors.py).
handler500 = "config.errors.server_error"
