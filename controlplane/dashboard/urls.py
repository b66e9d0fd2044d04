"""The dashboard's page at ``/``; every page of the SPA lives behind it in the URL's #fragment."""

from django.urls import path

from controlplane.dashboard.views import index

urlpatterns = [path("", index, name="dashboard")]
