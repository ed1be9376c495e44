"""The portal shell: home, service start pages, footer pages and error pages, in both languages."""

import pytest
from django.test import RequestFactory
from django.urls import resolve
from django.utils import translation

from hawiya.portal import views
from hawiya.portal.catalogue import SERVICES
from hawiya.portal.context_processors import DEFAULT_SUPPORT_PHONE

from .html import Element, find_all, find_one

SLUGS = ["report-lost-document", "request-replacement", "appointments", "track-requests"]
CONTENT_PAGES = ["privacy", "cookies", "accessibility", "terms", "contact"]
DEMO_AR = "خدمة تجريبية — ليست موقعًا حكوميًا رسميًا"
DEMO_EN = "Demo service — not an official government website"


def html_root(content: bytes) -> Element:
    return find_one(content, "html")


@pytest.mark.parametrize(
    ("language", "direction", "h1", "service_name"),
    [
        ("ar", "rtl", "خدمات الأحوال المدنية الإلكترونية", "هوية"),
        ("en", "ltr", "Civil affairs services online", "Hawiya"),
    ],
)
def test_home_is_in_the_language_of_its_prefix(client, language, direction, h1, service_name):
    response = client.get(f"/{language}/")

    assert response.status_code == 200
    root = html_root(response.content)
    assert root.attrs["lang"] == language
    assert root.attrs["dir"] == direction
    assert [element.text for element in find_all(response.content, "h1")] == [h1]
    assert find_one(response.content, "title").text == f"{h1} – {service_name}"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_home_cards_each_lead_to_their_start_page(client, language):
    response = client.get(f"/{language}/")

    cards = find_all(response.content, "li", "hw-card")
    ctas = find_all(response.content, "a", "hw-card__cta")
    assert len(cards) == len(ctas) == len(SLUGS)
    assert [cta.attrs["href"] for cta in ctas] == [f"/{language}/services/{slug}/" for slug in SLUGS]
    # Each CTA is named by its own words plus its card's title, never "Go to service" four times.
    for cta, slug in zip(ctas, SLUGS, strict=True):
        assert cta.attrs["aria-labelledby"] == f"service-{slug}-cta service-{slug}-title"


def test_catalogue_matches_the_start_pages():
    assert [service.slug for service in SERVICES] == SLUGS


@pytest.mark.parametrize("language", ["ar", "en"])
def test_shell_has_skip_link_first_landmarks_and_one_h1(client, language):
    response = client.get(f"/{language}/services/appointments/")
    content = response.content.decode()

    first_link = find_all(content, "a")[0]
    assert first_link.attrs["href"] == "#main-content"
    assert "hw-skip-link" in first_link.classes
    main = find_one(content, "main")
    assert main.attrs["id"] == "main-content"
    assert main.attrs["tabindex"] == "-1"
    for landmark in ("header", "footer"):
        assert len(find_all(content, landmark)) == 1
    assert len(find_all(content, "nav")) == 2  # main menu and footer links, each labelled
    assert all(nav.attrs.get("aria-label") for nav in find_all(content, "nav"))
    assert len(find_all(content, "h1")) == 1
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in content
    assert "maximum-scale" not in content


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_start_page_answers_in_both_languages(client, language, slug):
    response = client.get(f"/{language}/services/{slug}/")

    assert response.status_code == 200
    assert html_root(response.content).attrs["lang"] == language
    assert len(find_all(response.content, "h1")) == 1


@pytest.mark.parametrize(
    ("language", "facts"),
    [
        (
            "en",
            [
                "No fine",
                "SAR 100",
                "SAR 300",
                "SAR 1,000",
                "delivery fee",
                "3 to 5 working days",
                "an activated digital identity",
                "a registered National Address",
                "a bank card",
            ],
        ),
        (
            "ar",
            [
                "لا توجد غرامة",
                "100 ريال",
                "300 ريال",
                "1,000 ريال",
                "رسوم التوصيل",
                "من 3 إلى 5 أيام عمل",
                "هوية رقمية مفعّلة",
                "عنوان وطني مسجّل",
                "بطاقة مصرفية",
            ],
        ),
    ],
)
@pytest.mark.parametrize("slug", ["report-lost-document", "request-replacement"])
def test_start_page_states_fees_time_and_needs(client, language, facts, slug):
    response = client.get(f"/{language}/services/{slug}/")
    text = find_one(response.content, "main").text

    for fact in facts:
        assert fact in text


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    ("slug", "journey"),
    [
        ("report-lost-document", "lost-documents/"),
        ("request-replacement", "requests/new/"),
        ("appointments", "requests/"),
        ("track-requests", "requests/"),
    ],
)
def test_start_page_has_one_start_button_leading_to_its_journey(client, language, slug, journey):
    response = client.get(f"/{language}/services/{slug}/")

    buttons = find_all(response.content.decode().split("<main", 1)[1], "a", "hw-button")
    assert [button.attrs["href"] for button in buttons] == [f"/{language}/{journey}"]


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("page", CONTENT_PAGES)
def test_every_footer_page_answers_and_is_linked_from_the_footer(client, language, page):
    url = f"/{language}/{page}/"
    response = client.get(url)

    assert response.status_code == 200
    assert html_root(response.content).attrs["lang"] == language
    footer_links = [a.attrs["href"] for a in find_all(response.content.decode().split("<footer", 1)[1], "a")]
    assert url in footer_links
    assert find_all(response.content, "p", "hw-page-updated")


def test_footer_shows_the_platform_last_updated_date_in_both_calendars(client):
    response = client.get("/ar/")

    meta = find_all(response.content, "p", "hw-footer__meta")[0].text
    assert "23 نوفمبر 2026م" in meta
    assert "1448هـ" in meta


def test_contact_gives_the_phone_isolated_and_the_hours(client):
    response = client.get("/en/contact/")
    content = response.content.decode()

    assert '<bdi dir="ltr">+966 11 000 0000</bdi>' in content
    assert "Sunday to Thursday, 8 am – 4 pm" in content


def test_cookies_page_names_only_essential_cookies(client, settings):
    response = client.get("/en/cookies/")
    content = response.content.decode()

    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME):
        assert f'<bdi dir="ltr">{name}</bdi>' in content
    assert "analytics" in content  # said: none are used


def test_get_help_block_is_on_every_page_in_the_same_place(client):
    for url in ["/ar/", "/ar/services/appointments/", "/ar/privacy/", "/ar/no-such-page/"]:
        content = client.get(url).content.decode()
        assert content.index("</main>") < content.index('id="hw-help-title"') < content.index("<footer")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_unknown_service_is_a_styled_404(client, language):
    response = client.get(f"/{language}/services/renew-passport/")

    assert response.status_code == 404
    assert html_root(response.content).attrs["lang"] == language
    h1 = find_one(response.content, "h1").text
    assert h1 == {"ar": "الصفحة غير موجودة", "en": "Page not found"}[language]
    assert find_all(response.content, "header", "hw-header")
    assert find_all(response.content, "footer", "hw-footer")


def test_unknown_page_404_toggle_swaps_the_prefix(client):
    response = client.get("/ar/no-such-page/?q=1")

    assert response.status_code == 404
    toggle = find_one(response.content, "a", "hw-language-toggle")
    assert toggle.attrs["href"] == "/en/no-such-page/?q=1"


@pytest.mark.parametrize(
    ("handler", "status", "h1"),
    [
        (views.bad_request, 400, "Sorry, the request could not be processed"),
        (views.permission_denied, 403, "You cannot view this page"),
        (views.page_not_found, 404, "Page not found"),
    ],
)
def test_error_handlers_render_the_shell(handler, status, h1):
    request = RequestFactory().get("/en/anything/")
    with translation.override("en"):
        response = handler(request, Exception("detail that must not show"))

    assert response.status_code == status
    assert find_one(response.content, "h1").text == h1
    assert find_one(response.content, "title").text == f"{h1} – Hawiya"
    assert b"detail that must not show" not in response.content


@pytest.mark.parametrize(
    ("language", "h1"), [("en", "Too many documents requested"), ("ar", "طلبت مستندات كثيرة")]
)
@pytest.mark.parametrize("retry_after", [None, 600])
def test_the_429_page_is_in_the_requests_language_with_retry_after_when_given(language, h1, retry_after):
    """views.too_many_requests: what the PDF and audit-proof limits answer."""
    request = RequestFactory().get(f"/{language}/requests/R1/receipt.pdf")
    with translation.override(language):
        response = views.too_many_requests(request, retry_after=retry_after)

    assert response.status_code == 429
    assert find_one(response.content, "h1").text == h1
    # Said of PDFs and of the audit proofs (JSON) alike.
    assert {"en": "You have downloaded many documents", "ar": "نزّلت مستندات كثيرة"}[language] in (
        response.content.decode()
    )
    assert f'lang="{language}"'.encode() in response.content
    assert response.get("Retry-After") == (None if retry_after is None else "600")


def test_server_error_renders_without_request_context():
    request = RequestFactory().get("/ar/")
    with translation.override("ar"):
        response = views.server_error(request)

    assert response.status_code == 500
    root = html_root(response.content)
    assert (root.attrs["lang"], root.attrs["dir"]) == ("ar", "rtl")
    assert find_one(response.content, "h1").text == "عذرًا، حدث خلل في الخدمة"
    assert b"hawiya.css" in response.content


@pytest.mark.parametrize("matched", [True, False])
@pytest.mark.parametrize(
    ("language", "tagline", "desk"),
    [
        ("ar", "بيئة الموظفين", "مكتب خدمات تقنية المعلومات"),
        ("en", "Staff environment", "IT service desk"),
    ],
)
def test_server_error_in_the_staff_area_keeps_the_staff_marker(language, tagline, desk, matched):
    # A back-office page failed (its view matched, or it failed before the URL was resolved):
    # the staff marker and home, and no citizens' phone line.
    request = RequestFactory().get(f"/{language}/staff/day/")
    with translation.override(language):
        request.resolver_match = resolve(request.path) if matched else None
        response = views.server_error(request)

    assert response.status_code == 500
    page = " ".join(response.content.decode().split())
    assert "hw-staff-marker" in page
    assert tagline in page
    assert desk in page
    assert DEFAULT_SUPPORT_PHONE not in page
    assert page.count(f'href="/{language}/staff/"') == 2  # the logo and the line back


def test_server_error_outside_the_staff_area_keeps_the_citizens_shell():
    request = RequestFactory().get("/en/account/")
    with translation.override("en"):
        request.resolver_match = resolve(request.path)
        page = views.server_error(request).content.decode()

    assert "hw-staff-marker" not in page
    assert 'href="/en/"' in page
    assert DEFAULT_SUPPORT_PHONE in page


def test_server_error_survives_a_missing_static_manifest(settings):
    # The production storage without collectstatic: {% static %} would raise, the 500 page must not.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent-static-root"
    response = views.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert b"<h1" in response.content


@pytest.mark.parametrize(("demo", "language"), [(True, "ar"), (True, "en"), (False, "ar"), (False, "en")])
def test_stamp_strip_says_demo_only_in_demo_mode(client, settings, demo, language):
    settings.DEMO = demo
    response = client.get(f"/{language}/")
    stamp = find_one(response.content, "section", "hw-stamp")
    expected_demo = DEMO_AR if language == "ar" else DEMO_EN

    if demo:
        assert stamp.text == expected_demo
        assert not find_all(response.content, "details")
    else:
        assert expected_demo not in response.content.decode()
        details = find_one(response.content, "details", "hw-stamp__details")
        summary = find_one(response.content, "summary")
        assert summary.text == {"ar": "كيف تتحقق من ذلك؟", "en": "How do you know?"}[language]
        assert "gov.sa" in details.text


def test_stamp_never_shows_a_registration_number_unless_configured(client, settings):
    settings.DEMO = False
    assert "Registered with the Digital Government Authority" not in client.get("/en/").content.decode()
    settings.HAWIYA_DGA_REGISTRATION = "12345"
    assert '<bdi dir="ltr">12345</bdi>' in client.get("/en/").content.decode()
    settings.DEMO = True
    assert "12345" not in client.get("/en/").content.decode()


def test_title_gets_the_error_prefix_when_a_form_has_errors(rf):
    from django import forms
    from django.shortcuts import render

    class Form(forms.Form):
        name = forms.CharField()

    form = Form(data={})
    assert not form.is_valid()
    request = rf.get("/en/")
    with translation.override("en"):
        response = render(request, "portal/home.html", {"form": form, "services": SERVICES})
    assert find_one(response.content, "title").text.startswith("Error: Civil affairs services online")
    with translation.override("ar"):
        response = render(request, "portal/home.html", {"form": form, "services": SERVICES})
    assert find_one(response.content, "title").text.startswith("خطأ: ")


@pytest.mark.parametrize(
    ("language", "truth", "stale"),
    [
        ("ar", "تعمل جميع الخدمات هنا إلكترونيًا بعد تسجيل الدخول بهويتك الرقمية", "إطلاق"),
        ("en", "Every service here can be used online once you sign in with your digital identity", "launch"),
    ],
)
def test_home_says_the_services_are_online_now(client, language, truth, stale):
    """Sign-in has launched: the home page no longer says online requests open "when it launches"."""
    body = " ".join(find_one(client.get(f"/{language}/").content, "main").text.split())

    assert truth in body
    assert stale not in body
