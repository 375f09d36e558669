"""Error pages. They carry the crisis footer like every other page."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return HttpResponse(render_to_string("404.html", request=request), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side."}, status=500
        )
    # No context processors or database here: the failure may be the database itself.
    return HttpResponse(render_to_string("500.html"), status=500)
