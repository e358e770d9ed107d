"""Every error the API gives has the shape {code, message, fields}, with a fitting status."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from core.errors import RateLimited, ServiceError
from core.unavailable import is_outage, unavailable_json

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    *,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


def _field_name(location: list[object] | tuple[object, ...]) -> str:
    # ninja reports ("body", "payload", "email"); a person knows the field as "email".
    parts = [str(part) for part in location if part not in {"body", "payload", "query", "path", "form", "file"}]
    return ".".join(parts) or "body"


def _schema_message(item: dict[str, Any]) -> str:
    """pydantic's message for a body that doesn't fit the schema, said in the person's language
    for the common cases; pydantic's own English otherwise."""
    kind = str(item.get("type", ""))
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith("string_"):
        return _("Send this as text.")
    if kind.startswith(("int_", "float_", "decimal_")):
        return _("Send this as a number.")
    if kind.startswith("bool_"):
        return _("Send this as true or false.")
    if kind.startswith(("list_", "tuple_", "set_")):
        return _("Send this as a list.")
    if kind.startswith(("datetime_", "date_", "time_")):
        return _("Send this as a date and time (ISO 8601).")
    return str(item.get("msg", _("Invalid value.")))


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request: HttpRequest, error: ServiceError) -> HttpResponse:
        response = error_response(
            api, request, status=error.status, code=error.code, message=error.message, fields=error.fields
        )
        if isinstance(error, RateLimited):
            response["Retry-After"] = str(error.retry_after)
        return response

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        for item in error.errors:
            fields.setdefault(_field_name(item.get("loc", ())), []).append(_schema_message(item))
        return error_response(
            api, request, status=400, code="invalid", message=_("Some fields need another look."), fields=fields
        )

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        return error_response(
            api, request, status=401, code="unauthorized", message=_("Log in first: send a valid token.")
        )

    @api.exception_handler(AuthorizationError)
    def authorization_error(request: HttpRequest, error: AuthorizationError) -> HttpResponse:
        return error_response(api, request, status=403, code="forbidden", message=_("You can't do that."))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        code = _CODES_BY_STATUS.get(error.status_code, "error")
        return error_response(api, request, status=error.status_code, code=code, message=str(error))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
        return error_response(api, request, status=404, code="not_found", message=_("Not found."))

    @api.exception_handler(MultiPartParserError)
    def malformed_multipart(request: HttpRequest, error: MultiPartParserError) -> HttpResponse:
        return error_response(
            api,
            request,
            status=400,
            code="bad_body",
            message=_("The multipart body can't be read (is its boundary missing?)."),
        )

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, status=413, code="too_large", message=_("The request is too large."))

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, error: Exception) -> HttpResponse:
        if is_outage(error):
            logger.warning("database unavailable on %s %s: %s", request.method, request.path, error)
            return unavailable_json()
        logger.exception("Unhandled API error on %s %s", request.method, request.path)
        return error_response(
            api, request, status=500, code="server_error", message=_("Something went wrong on our side.")
        )
