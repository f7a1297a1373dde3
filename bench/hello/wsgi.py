import os

from django.core.wsgi import get_wsgi_application

# Forced, not setdefault: the bench starts it with the AOS environment otherwise.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.hello.settings"
application = get_wsgi_application()
