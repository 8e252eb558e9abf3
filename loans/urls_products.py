"""Product URLs (included from loans/urls.py under /api/v1/)."""

from django.urls import path

from loans.apis.products import ProductDetailApi, ProductListApi, ProductTermsApi

urlpatterns = [
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<str:code>/", ProductDetailApi.as_view(), name="product-detail"),
    path("products/<str:code>/terms/", ProductTermsApi.as_view(), name="product-terms"),
]
