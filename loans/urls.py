from django.urls import path

from loans.apis import SimulationApi

urlpatterns = [
    path("simulations/", SimulationApi.as_view(), name="simulation"),
]
