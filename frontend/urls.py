from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import upload_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="frontend/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.study_list, name="study-list"),
    path("studies/<str:uid>/", views.study_detail, name="study-detail"),
    path("studies/<str:uid>/send", views.study_send, name="study-send"),
    path("studies/<str:study>/series/<str:series>/", views.series_view, name="series-view"),
    path("upload/", upload_views.upload_page, name="upload"),
]
