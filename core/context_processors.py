from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, object]:
    """What every page of the shell needs."""
    return {"site_name": "same"}
