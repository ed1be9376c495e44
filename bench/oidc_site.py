"""Settings of bench/oidc.py's server: Hawiya's own settings, with a URLconf that adds one bare
view. Only the benchmark selects it (DJANGO_SETTINGS_MODULE=oidc_site with bench/ on the path),
so the bare view is never part of Hawiya's own URLs."""

from __future__ import annotations

from hawiya.config import settings as _hawiya

globals().update({name: value for name, value in vars(_hawiya).items() if name.isupper()})

ROOT_URLCONF = "oidc_site_urls"
