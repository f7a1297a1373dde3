import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
application = get_wsgi_application()


def _refuse_a_broken_configuration() -> None:
    """gunicorn runs no system checks: refuse to serve with an aos.E* error (e.g. no SECRET_KEY)."""
    from aosproject.checks import check_configuration

    errors = [message for message in check_configuration(None) if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{m.id}: {m.msg} {m.hint or ''}".strip() for m in errors))


_refuse_a_broken_configuration()
