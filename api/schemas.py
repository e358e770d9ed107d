from ninja import Schema


class ErrorOut(Schema):
    """Every refusal: a stable `code` to branch on, a `message` for a person, per-field messages."""

    code: str
    message: str
    fields: dict[str, list[str]] = {}
