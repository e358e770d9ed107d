"""What must happen, beyond the cascade of rows, when an account is deleted.

Rows the person owns go by cascade. Files stay on storage unless someone removes them, and some
rows (a channel the person hosts) belong to others too; each feature registers a step here that
runs, inside the deletion's transaction, before the person's row is deleted. An account goes one
way, whoever deletes it (its owner, an operator in the admin): accounts.services.user_remove.
"""

from collections.abc import Callable

from .models import User

DeletionStep = Callable[[User], None]
_steps: list[DeletionStep] = []


def register_deletion_step(step: DeletionStep) -> DeletionStep:
    _steps.append(step)
    return step


def run_deletion_steps(user: User) -> None:
    for step in _steps:
        step(user)
