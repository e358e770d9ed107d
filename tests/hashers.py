from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with a small memory cost: the same code path as production, a fraction of the time."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1


class MeasurableArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 costly enough (15 ms on an idle core, ~40 ms on a busy one) that a request skipping the hash would
    show in a timing comparison, cheap enough for 60 hashes a test."""

    time_cost = 2
    memory_cost = 8 * 1024
    parallelism = 1
