from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import portal_views, share_views, upload_views, viewer_views, views

urlpatterns = [
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.study_list, name="study-list"),
    path("studies/<str:uid>/", views.study_detail, name="study-detail"),
    path("studies/<str:uid>/send", views.study_send, name="study-send"),
    path("studies/<str:uid>/viewer/", viewer_views.viewer, name="study-viewer"),
    path("studies/<str:study>/series/<str:series>/", views.series_view, name="series-view"),
    path("upload/", upload_views.upload_page, name="upload"),
    path("uploads/", portal_views.my_uploads, name="my-uploads"),
    path("uploads/<uuid:job_id>/submit", portal_views.submit_for_reading, name="submit-for-reading"),
    path("studies/<str:uid>/share/", share_views.study_share, name="study-share"),
    path("shared/<str:token>/", share_views.shared_study, name="shared-study"),
    path("shared/<str:token>/series/<str:series>/", share_views.shared_series, name="shared-series"),
    path("shared/<str:token>/series/<str:series>/thumbnail", share_views.SharedThumbnail.as_view(), name="shared-thumbnail"),
    path(
        "shared/<str:token>/series/<str:series>/instances/<str:sop>/frames/<int:frame>/image",
        share_views.SharedFrame.as_view(),
        name="shared-frame",
    ),
    path("shared/<str:token>/series/<str:series>/instances/<str:sop>/file", share_views.shared_instance_file, name="shared-file"),
]
