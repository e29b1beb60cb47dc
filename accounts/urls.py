from django.urls import path

from accounts import user_admin_views as users
from accounts import views

urlpatterns = [
    path("login/", views.PasswordLoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("account/two-factor/", views.twofactor_enrol, name="twofactor-enrol"),
    path("account/two-factor/qr.svg", views.twofactor_qr, name="twofactor-qr"),
    path("account/set-password/<str:token>/", views.set_password, name="set-password"),
    path("users/", users.user_list, name="user-list"),
    path("users/invite/", users.user_invite, name="user-invite"),
    path("users/<int:user_id>/", users.user_detail, name="user-detail"),
    path("users/<int:user_id>/role", users.user_change_role, name="user-change-role"),
    path("users/<int:user_id>/deactivate", users.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/reactivate", users.user_reactivate, name="user-reactivate"),
    path("users/<int:user_id>/reset-password", users.user_reset_password, name="user-reset-password"),
    path("users/<int:user_id>/reset-2fa", users.user_reset_2fa, name="user-reset-2fa"),
    path("users/<int:user_id>/require-2fa", users.user_require_2fa, name="user-require-2fa"),
    path("users/<int:user_id>/unrequire-2fa", users.user_unrequire_2fa, name="user-unrequire-2fa"),
]
