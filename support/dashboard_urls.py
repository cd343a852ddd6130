from django.urls import path

from support import views

urlpatterns = [
    path("support/", views.support_page, name="support"),
]
