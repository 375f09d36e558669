"""The API's errors in its OpenAPI schema: every answer an endpoint can give is documented.

Every error is ``{"code", "detail"}`` (``grouport.exceptions``), and some come from no view
at all: the parser (a body that is not a JSON object, 400), the middleware (unprintable
characters, 400; a second factor missing, 403), authentication (401), the URL (404 for an id
that names nothing), the content type (415) and the throttles (429). This hook adds each of
them to every operation it can happen to, so a client (and the schema fuzzer in CI) knows
every status it may get.
"""

from typing import Any

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a stable `code` for programs, a `detail` for people (in the "
    "request's language). Some errors add fields: `errors` (per field), `reasons`, "
    "`alternatives`, `waitlist_url`, `opens_at`, `safety` and `crisis`.",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["code", "detail"],
    "additionalProperties": True,
}

WHY = {
    "400": "The request could not be read or a field is not valid (`code` says which: `invalid`, "
    "`parse_error`, `invalid_characters`, or a rule's own code).",
    "401": "Sign in first: send `Authorization: Token <token>` (or use the site's session).",
    "403": "Not allowed: a rule said no, a second factor is needed first "
    "(`second_factor_required`), or the session's CSRF check failed.",
    "404": "Nothing with that id or token is yours to see.",
    "405": "That method is not allowed here.",
    "406": "The API answers JSON only.",
    "409": "The change is not possible now (`code` says why).",
    "415": "Send the body as `application/json`.",
    "429": "Too many requests: wait a little and try again.",
}

METHODS_WITH_BODY = {"post", "put", "patch"}


def _error(why: str, existing: dict | None = None) -> dict:
    response = dict(existing or {})
    response.setdefault("description", why)
    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return response


def _documented(response: dict | None) -> bool:
    return bool(response and response.get("content"))


def document_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular post-processing hook: add the errors every operation may answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            # 400: the parser or the middleware (unprintable characters); 403: a second factor
            # missing, a CSRF check, a rule; 406: an Accept header that is not JSON.
            wanted = ["400", "403", "406"]
            security = operation.get("security") or []
            if {} not in security:
                wanted.append("401")
            parameters = {p.get("name") for p in operation.get("parameters", [])}
            if "{" in path or "page" in parameters:  # an id that names nothing; a page past the end
                wanted.append("404")
            if method in METHODS_WITH_BODY:
                wanted.append("415")
            # 429 only where a view throttles: it documents it itself (TokenApi).
            for status in wanted:
                if not _documented(responses.get(status)):
                    responses[status] = _error(WHY[status], responses.get(status))
            # Codes a view declared with a description only (``OpenApiResponse(description=...)``)
            # carry the error body too.
            for status, response in list(responses.items()):
                if status.startswith("4") and not _documented(response):
                    responses[status] = _error(WHY.get(status, "An error."), response)
    return result


class TokenScheme(KnoxTokenScheme):
    """Our knox tokens (``grouport.authentication``) in the schema, as knox's own are."""

    target_class = "grouport.authentication.TokenAuthentication"
