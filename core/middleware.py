from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import RateLimited, ServiceError
from .ratelimit import tightest


class ServiceErrorMiddleware:
    """A refusal no view caught (a missing channel, a forbidden action) becomes a kind page, not a 500.

    A request that counted against a rate limit answers with what is left of it: `RateLimit-Limit`,
    `RateLimit-Remaining`, `RateLimit-Reset` (seconds), so an app can slow down before it is refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = tightest.set(None)
        try:
            response = self.get_response(request)
            allowance = tightest.get()
        finally:
            tightest.reset(token)
        if allowance is not None:
            response["RateLimit-Limit"] = str(allowance.limit)
            response["RateLimit-Remaining"] = str(allowance.remaining)
            response["RateLimit-Reset"] = str(allowance.reset)
            if response.status_code == 429 and not response.has_header("Retry-After"):
                # A view that caught the refusal to show it in its own page (a form, a knock) still says when.
                response["Retry-After"] = str(allowance.reset)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ServiceError):
            return None
        response = render(request, "core/refused.html", {"error": exception}, status=exception.status)
        if isinstance(exception, RateLimited):
            response["Retry-After"] = str(exception.retry_after)
        return response
