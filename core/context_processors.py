from django.http import HttpRequest

from core.script_catalog import script_catalog_version


def shell(request: HttpRequest) -> dict[str, object]:
    """What every page of the shell needs: the site's name, the scripts' catalog's version, and why a suspended
    person can't post."""
    context: dict[str, object] = {"site_name": "same", "script_catalog_version": script_catalog_version()}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_suspended:
        from accounts.suspension import suspension_message

        context["suspension"] = suspension_message(user)
    return context
