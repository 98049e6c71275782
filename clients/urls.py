from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from clients import views

urlpatterns = [
    path("clients/", views.client_list, name="client_list"),
    path("clients/<id:client_id>/", views.client_detail, name="client_detail"),
]
