"""What must happen, beyond the cascade of rows, when an account is deleted.

Rows the person owns go by cascade. Files stay on storage unless someone removes them, and some
rows (a channel the person hosts) belong to others too; each feature registers a step here that
runs, inside the deletion's transaction, before the person's row is deleted. An account goes one
way, whoever deletes it (its owner, an operator in the admin): accounts.services.user_remove.

A step that does something the cascade's list of rows does not show (files removed, a channel passed on, messages
blanked rather than deleted) also registers a note: what it will do, in words, for the operator about to delete
(the admin's confirmation page, below the rows).
"""

from collections.abc import Callable, Sequence

from .models import User

DeletionStep = Callable[[User], None]
_steps: list[DeletionStep] = []
DeletionNote = Callable[[Sequence[User]], list[str]]
_notes: list[DeletionNote] = []


def register_deletion_step(step: DeletionStep) -> DeletionStep:
    _steps.append(step)
    return step


def run_deletion_steps(user: User) -> None:
    for step in _steps:
        step(user)


def register_deletion_note(note: DeletionNote) -> DeletionNote:
    """`note(people)`: a sentence per thing its feature's step will do to these people's things; none if nothing."""
    _notes.append(note)
    return note


def deletion_notes(people: Sequence[User]) -> list[str]:
    """What deleting these people will do beyond removing the rows that go with them."""
    return [line for note in _notes for line in note(people)]
