from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def remember_language(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    return middleware
