"""Bodies that may come as JSON or, when a file is sent, as multipart (API.md's rule)."""

import json
from typing import Any, TypeVar

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ValidationError as PydanticValidationError

from core.errors import ValidationFailed
from core.nul import message as nul_message
from core.nul import nul_paths

S = TypeVar("S", bound=Schema)


def read_body[S: Schema](request: HttpRequest, schema: type[S], *, lists: tuple[str, ...] = ()) -> S:
    """Validate the request body against `schema`, from JSON or from form fields."""
    data: Any
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationFailed(
                {"body": [_("The body is not valid JSON.")]}, message=_("The body is not valid JSON.")
            ) from None
        if not isinstance(data, dict):
            raise ValidationFailed({"body": [_("Send a JSON object.")]}, message=_("Send a JSON object."))
    else:
        data = {key: (request.POST.getlist(key) if key in lists else request.POST.get(key)) for key in request.POST}
    nul = [".".join(str(part) for part in path) or "body" for path in nul_paths(data)]
    if nul:
        raise ValidationFailed({name: [nul_message()] for name in nul})
    try:
        return schema.model_validate(data)
    except PydanticValidationError as error:
        fields: dict[str, list[str]] = {}
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"]) or "body"
            fields.setdefault(name, []).append(item["msg"])
        raise ValidationFailed(fields) from None


def body_doc(schema: type[Schema], *, multipart: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI for a body read by `read_body`: JSON, and multipart where files may come."""
    content: dict[str, Any] = {"application/json": {"schema": schema.model_json_schema()}}
    if multipart is not None:
        content["multipart/form-data"] = {"schema": multipart}
    return {"requestBody": {"required": True, "content": content}}


def links(status: int, parameter: str, **operations: str) -> dict[str, Any]:
    """OpenAPI links from an operation's answer to the operations that take its `id` as `parameter`
    (`Name="operationId"`): what a client does next with what it made, and what schemathesis's
    stateful run follows."""
    return {
        "responses": {
            status: {
                "links": {
                    name: {"operationId": operation, "parameters": {parameter: "$response.body#/id"}}
                    for name, operation in operations.items()
                }
            }
        }
    }


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Several `openapi_extra` dicts as one (nested dicts merged)."""
    result: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            result[key] = (
                merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
            )
    return result
