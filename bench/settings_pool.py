"""same.settings with Django's psycopg connection pool, as `DATABASE_POOL=4:16` would ask for it: for the
benchmarks, which compare with and without. Needs `psycopg_pool` importable (it is not in requirements.txt),
for instance:

    .venv/bin/python -m pip install --target /tmp/bench-pool-lib psycopg-pool
    PYTHONPATH=/tmp/bench-pool-lib .venv/bin/python bench/run.py --settings bench.settings_pool
"""

from same.settings import *  # noqa: F403
from same.settings import DATABASES, _pool_sizes

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One worker serves at most a few requests at once against a small database: a small pool.
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "pool": _pool_sizes("4:16")}
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooling replaces persistent connections
