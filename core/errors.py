"""The one error type services raise. Each door turns it into what its audience reads:
a form error next to the field on the web, `{code, message, fields}` in the API."""

from collections.abc import Callable

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class ServiceError(Exception):
    """A refusal a person can act on. `field` names the input at fault, if one is."""

    status = 400

    def __init__(self, code: str, message: str | Promise, *, field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.field = field
        if status is not None:
            self.status = status

    @property
    def fields(self) -> dict[str, list[str]]:
        return {self.field: [self.message]} if self.field else {}


class ValidationFailed(ServiceError):
    """Several inputs were wrong at once; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]], *, message: str | Promise | None = None):
        super().__init__("invalid", message or _("Some fields need another look."))
        self.errors = errors

    @property
    def fields(self) -> dict[str, list[str]]:
        return self.errors


class RateLimited(ServiceError):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "rate_limited",
            ngettext(
                "Too many attempts. Try again in %(seconds)d second.",
                "Too many attempts. Try again in %(seconds)d seconds.",
                retry_after,
            )
            % {"seconds": retry_after},
        )
        self.retry_after = retry_after


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str | Promise | None = None):
        super().__init__("not_found", message or _("Not found."))


class PermissionDenied(ServiceError):
    status = 403

    def __init__(self, code: str = "forbidden", message: str | Promise | None = None):
        super().__init__(code, message or _("You can't do that."))


def gather_checks(checks: dict[str, Callable[[], str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Run every check, so a form shows all its errors at once, not one per submit."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except ServiceError as error:
            errors[error.field or name] = [error.message]
    return values, errors
