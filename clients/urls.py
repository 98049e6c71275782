from __future__ import annotations

from django.urls import path

from clients import views

urlpatterns = [
    path("clients/", views.client_list, name="client_list"),
    path("clients/<int:client_id>/", views.client_detail, name="client_detail"),
]
