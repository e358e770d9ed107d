"""DATABASE_POOL: the connection pool the morning rush needs on PostgreSQL (docs/performance.md)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from same.settings import _pool_sizes


@pytest.mark.parametrize(
    ("value", "sizes"),
    [("1", (2, 16)), ("true", (2, 16)), ("4:16", (4, 16)), ("0:8", (0, 8)), ("6", (6, 6))],
)
def test_pool_sizes_are_read_from_the_setting(value, sizes):
    """Ensure that DATABASE_POOL gives the pool's minimum and maximum connections per process."""
    assert _pool_sizes(value) == {"min_size": sizes[0], "max_size": sizes[1]}


@pytest.mark.parametrize("value", ["many", "4:x", "8:4", "0:0", "-1:4"])
def test_a_pool_size_that_makes_no_sense_is_refused_at_start(value):
    """Ensure that a wrong DATABASE_POOL stops the process with a message, not a pool of surprises."""
    with pytest.raises(ImproperlyConfigured):
        _pool_sizes(value)
