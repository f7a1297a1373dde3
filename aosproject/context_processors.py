from django.conf import settings


def sso(request):
    """Lets the admin login page offer "Sign in with SSO" when OIDC is configured."""
    return {"oidc_sso_enabled": settings.OIDC_SSO_ENABLED}
