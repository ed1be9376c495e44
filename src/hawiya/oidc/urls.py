"""django-oauth-toolkit's endpoints under /oidc/, with Hawiya's authorization page and JWKS.

The namespace is the toolkit's own ("oauth2_provider"): its views reverse these names.
"""

from django.urls import path
from oauth2_provider import views as toolkit

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", toolkit.RevokeTokenView.as_view(), name="revoke-token"),
    path("userinfo/", toolkit.UserInfoView.as_view(), name="user-info"),
    path("jwks/", views.jwks, name="jwks-info"),
    path("parties/<str:client_id>/logo.png", views.party_logo, name="party-logo"),
    path("logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    path(".well-known/openid-configuration", views.discovery, name="oidc-connect-discovery-info"),
]
