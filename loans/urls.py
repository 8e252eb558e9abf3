from django.urls import path

from loans.apis.simulation import SimulationApi

urlpatterns = [
    path("simulations/", SimulationApi.as_view(), name="simulation"),
]
