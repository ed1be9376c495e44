import pytest


@pytest.fixture(autouse=True)
def _no_https_redirect(settings):
    # The settings default to HTTPS-only outside demo/debug mode; the test client speaks plain
    # HTTP, so every request would otherwise be answered with a redirect to https://.
    # (Static files: the root conftest switches the suite to plain StaticFilesStorage.)
    settings.SECURE_SSL_REDIRECT = False
