from django.urls import path

from borrowers.apis import BorrowerBusinessesApi, BorrowerDetailApi, BorrowerListApi, RegionListApi

urlpatterns = [
    path("borrowers/", BorrowerListApi.as_view(), name="borrower-list"),
    path("borrowers/<int:borrower_id>/", BorrowerDetailApi.as_view(), name="borrower-detail"),
    path("borrowers/<int:borrower_id>/businesses/", BorrowerBusinessesApi.as_view(), name="borrower-businesses"),
    path("regions/", RegionListApi.as_view(), name="region-list"),
]
