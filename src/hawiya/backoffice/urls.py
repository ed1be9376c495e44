"""Back-office URLs (under /<lang>/staff/), one module per area so each can change on its own:
sign-in (signin_urls), the officer's work (officer_urls), the supervisor (supervisor_urls), the
counter identity services (counter_urls), finding a person (people_urls), the administrators'
relying parties (parties_urls) and staff roles' sign-in rules (staff_security_urls),
citizens' misuse reports about document checks (misuse_urls)
and, in demo mode only, the demo courier (courier_urls)."""

from django.urls import URLPattern, URLResolver, include, path

app_name = "backoffice"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("hawiya.backoffice.signin_urls")),
    path("", include("hawiya.backoffice.officer_urls")),
    path("supervisor/", include("hawiya.backoffice.supervisor_urls")),
    path("counter/", include("hawiya.backoffice.counter_urls")),
    path("people/", include("hawiya.backoffice.people_urls")),
    path("parties/", include("hawiya.backoffice.parties_urls")),
    path("security/", include("hawiya.backoffice.staff_security_urls")),
    path("misuse-reports/", include("hawiya.backoffice.misuse_urls")),
    path("dev/courier/", include("hawiya.backoffice.courier_urls")),
]
