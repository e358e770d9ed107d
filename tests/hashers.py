from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with a small memory cost: the same code path as production, a fraction of the time."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1


class MeasurableArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 costly enough (~20 ms here) that a request skipping the hash shows in a timing comparison."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
