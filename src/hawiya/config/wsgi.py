"""WSGI entry point for gunicorn. Runs the system checks first, so that an unsafe configuration
(demo mode on a public host, a missing system library, field keys that cannot open the stored
secrets) stops the server instead of serving."""

import os

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hawiya.config.settings")
application = get_wsgi_application()

# With the database checks: the field keys must open the secrets stored (core/checks.py).
_errors = [
    message for message in checks.run_checks(databases=list(settings.DATABASES)) if message.is_serious()
]
if _errors:
    raise ImproperlyConfigured("System checks failed:\n" + "\n".join(str(message) for message in _errors))
