from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup", views.signup, name="signup"),
    path("signup/sent", views.signup_sent, name="signup_sent"),
    path("signup/username", views.username_check, name="username_check"),
    path("verify/resend", views.verify_resend, name="verify_resend"),
    path("verify/<str:token>", views.verify, name="verify"),
    path("login", views.login, name="login"),
    path("logout", views.logout, name="logout"),
    path("password/reset", views.password_reset, name="password_reset"),
    path("password/reset/<str:token>", views.password_reset_confirm, name="password_reset_confirm"),
    path("me", views.me, name="me"),
    path("me/profile", views.settings_profile, name="settings_profile"),
    path("me/email", views.settings_email, name="settings_email"),
    path("me/password", views.settings_password, name="settings_password"),
    path("me/export", views.export, name="export"),
    path("me/delete", views.delete_account, name="delete"),
    path("me/apps/<str:token_id>/sign-out", views.token_sign_out, name="token_sign_out"),
]
