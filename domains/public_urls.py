from django.urls import path

from domains import views

urlpatterns = [
    path("_gharart/tls-ask", views.tls_ask, name="tls-ask"),
]
