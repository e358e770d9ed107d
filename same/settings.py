"""Settings for same, read from the environment (12-factor).

With nothing set, same runs on its embedded default: SQLite under var/, local media, the
console for email and an in-memory channel layer. SAME_ENV=production turns on the
production checks: SECRET_KEY and ALLOWED_HOSTS are then required, cookies are secure.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SAME_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


PRODUCTION = os.environ.get("SAME_ENV", "").lower() == "production"
DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("SAME_TESTING", default=False)


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when SAME_ENV=production.")
    # The embedded default keeps a generated key beside its database, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

if PRODUCTION and not os.environ.get("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when SAME_ENV=production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "core.admin_site.SameAdminConfig",  # django.contrib.admin, hidden from non-staff (core/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "core",  # before django_tasks_db: its db_worker command (which rescues tasks a dead worker left) wins
    "django_tasks_db",
    "channels",
    "accounts",
    "media",
    "interests",
    "posts",
    "moderation",
    "punches",
    "stickers",
    "chat",
    "recommendations",
    "api",
    "ads",
    "push",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # HTML pages go out gzipped (Home: 49 KB → 6.5 KB); static files never reach it: WhiteNoise, above,
    # answers them with the .gz/.br made at collectstatic. CSRF tokens are masked per response (BREACH).
    "core.middleware.PageGZipMiddleware",
    # Django's, except that a late answer to an old cookie leaves the new session's cookie alone.
    "accounts.sessions.SessionMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PreferencesMiddleware",
    # A NUL character in the address or the query string: 404 / 400 here, not a 500 from PostgreSQL.
    "core.nul.NulCharacterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.ServiceErrorMiddleware",
]

ROOT_URLCONF = "same.urls"
WSGI_APPLICATION = "same.wsgi.application"
ASGI_APPLICATION = "same.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.shell",
            ],
        },
    },
]

# Database: SQLite in var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'same.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the task worker writes; IMMEDIATE makes a
        # writing transaction take its lock up front instead of failing half-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }


def _pool_sizes(value: str) -> dict[str, int]:
    """DATABASE_POOL=1 for a pool of 2 to 16 connections per process, or MIN:MAX (0 or unset: no pool)."""
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return {"min_size": 2, "max_size": 16}
    low, _sep, high = value.partition(":")
    try:
        sizes = {"min_size": int(low), "max_size": int(high or low)}
    except ValueError:
        raise ImproperlyConfigured("DATABASE_POOL is 1, or MIN:MAX connections per process (e.g. 4:16).") from None
    if not 0 <= sizes["min_size"] <= sizes["max_size"] or sizes["max_size"] < 1:
        raise ImproperlyConfigured("DATABASE_POOL's MIN:MAX needs 0 <= MIN <= MAX and MAX >= 1.")
    return sizes


# A pool (psycopg_pool, from `psycopg[pool]`) hands PostgreSQL connections from request to request:
# opening one costs ~20 ms (1.6 ms of it this process's CPU, and a new backend process). The HTTP
# threads are reused (core/http_bridge.py), so CONN_MAX_AGE could keep a connection per thread too,
# but the pool also serves the WebSocket consumers' short-lived threads and caps the connections a
# process holds. Size it per worker against max_connections. On by default for PostgreSQL (2 to 16
# per process); DATABASE_POOL=0 turns it off, MIN:MAX sizes it.
_pool = os.environ.get("DATABASE_POOL", "1").strip()
if _pool.lower() not in {"", "0", "false", "no", "off"} and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # `timeout`: how long a request waits for a connection before it answers 503 (core/unavailable.py), also
    # while PostgreSQL is down; psycopg's default is 30 s. The pool's `check` drops connections that broke, so it
    # recovers by itself when the database is back; core/dbpool.py's check asks the server only when the idle
    # connection's socket has something to read (a restart or a killed backend), not on every request.
    from core.dbpool import check_connection

    _pool_options = {
        **_pool_sizes(_pool),
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "5")),
        "check": check_connection,
    }
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "pool": _pool_options}
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections beside a pool
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Connections each serving event loop holds itself, to send a socket's text with no thread in between
# (core/loop_db.py): PostgreSQL only, 0 turns them off. Beside the pool's, against max_connections.
LOOP_DB_CONNECTIONS = int(os.environ.get("LOOP_DB_CONNECTIONS", "4"))
if not 0 <= LOOP_DB_CONNECTIONS <= 64:
    raise ImproperlyConfigured("LOOP_DB_CONNECTIONS is a number of connections from 0 to 64.")

# How HTTP is served inside the one ASGI application (same/asgi.py): "wsgi" runs Django's WSGI handler
# in a pool of HTTP_THREADS threads, one thread hop per request (core/http_bridge.py); "asgi" uses
# Django's ASGI handler. The WebSocket is Channels either way. docs/performance.md, "The serving stack".
HTTP_HANDLER = os.environ.get("HTTP_HANDLER", "wsgi").strip().lower()
if HTTP_HANDLER not in {"wsgi", "asgi"}:
    raise ImproperlyConfigured("HTTP_HANDLER is wsgi or asgi.")
HTTP_THREADS = int(os.environ.get("HTTP_THREADS", "32"))
if not 1 <= HTTP_THREADS <= 256:
    raise ImproperlyConfigured("HTTP_THREADS is a number of threads from 1 to 256.")

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "same"),
        }
    }
    # Pub/sub, not channels_redis's list-based layer: that one queues at most 100 messages per process and
    # drops the rest, and its 5 s blocking read timed idle sockets out (docs/performance.md, chat delivery).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CACHE_PREFIX", "same")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# A task RUNNING for longer than this on a worker of another host is taken for lost and queued again
# (core/task_rescue.py); a dead worker on the same host is noticed at once.
TASKS_RUNNING_TIMEOUT = int(os.environ.get("TASKS_RUNNING_TIMEOUT", str(30 * 60)))

# Accounts
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
EMAIL_VERIFY_MAX_AGE = 60 * 60 * 24 * 3
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# Email: EMAIL_URL is smtp://user:pass@host:port (?tls=1 for STARTTLS), smtps://… for implicit
# TLS, or console:// — the console is the default, in the embedded default too.
EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "same <no-reply@same.local>")


def _mailer(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    if parsed.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parsed.scheme == "locmem":
        return {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parsed.scheme in {"smtp", "smtps", "submission"}:
        query = parse_qs(parsed.query)
        default_port = {"smtp": 25, "smtps": 465, "submission": 587}[parsed.scheme]
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parsed.hostname or "localhost",
                "port": parsed.port or default_port,
                "username": unquote(parsed.username or ""),
                "password": unquote(parsed.password or ""),
                "use_ssl": parsed.scheme == "smtps",
                "use_tls": parsed.scheme == "submission" or query.get("tls", ["0"])[0] in {"1", "true"},
                "timeout": 10,
            },
        }
    raise ImproperlyConfigured(f"EMAIL_URL scheme {parsed.scheme!r} is not one of smtp, smtps, submission, console.")


MAILERS = {"default": _mailer(EMAIL_URL)}

# Internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language comes from the signed-in person's setting, else this cookie (set_language, or saving
# the setting), else the browser's Accept-Language, else English.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static and media files
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "core.storage.MediaStorage"},  # the file system; a full disk refuses cleanly
    "staticfiles": {
        "BACKEND": (
            "core.static_storage.StaticStorage"
            if env_bool("STATIC_MANIFEST", default=not (DEBUG or TESTING))
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Security
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept readable for the ES modules.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# Rate limits: (requests, seconds) per key. Tests and operators may tighten or loosen them.
RATE_LIMITS = {
    "login_ip": (25, 300),
    "login_account": (5, 1800),
    "signup_ip": (10, 3600),
    "reset_ip": (10, 3600),
    "reset_account": (2, 3600),
    "username_check_ip": (60, 60),
    "verify_resend_account": (3, 3600),
    "post_account": (60, 3600),
    "post_new_account": (10, 3600),  # accounts younger than a day
    "knock_account": (20, 3600),
    "knock_new_account": (5, 3600),  # accounts younger than a day
    "message_account": (120, 60),
    "message_new_account": (30, 60),
    "group_create_account": (10, 3600),
    "invite_join_account": (30, 3600),
    "sticker_create_account": (60, 3600),
    "ad_click_ip": (3, 3600),  # clicks counted per address and campaign
    "typing_account": (60, 60),
}
# Load tests and fault drills send far more than any person would: RATE_LIMIT_SCALE multiplies every allowance
# (windows unchanged). Leave it at 1 in production.
_rate_scale = float(os.environ.get("RATE_LIMIT_SCALE", "1"))
if _rate_scale <= 0:
    raise ImproperlyConfigured("RATE_LIMIT_SCALE is a positive number (1: the limits as written).")
RATE_LIMITS = {scope: (max(1, round(count * _rate_scale)), window) for scope, (count, window) in RATE_LIMITS.items()}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# How many reverse proxies in front of the app append to X-Forwarded-For (0: none, use REMOTE_ADDR).
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))

# Speech to text for voice clips (a sticker's spoken caption): the dotted path of a class with
# `transcribe(pcm, *, sample_rate) -> media.speech.Transcript`, made once per process. The default is
# PocketSphinx with the English model its wheel ships; docs/speech.md tells how to plug in a stronger engine.
SPEECH_BACKEND = os.environ.get("SPEECH_BACKEND", "media.speech.PocketSphinxBackend")
# The languages SPEECH_BACKEND understands (the default's model is US English): a voice message is transcribed
# when its sender's language is one of them; for anyone else it says there is no transcript in their language.
SPEECH_LANGUAGES = [code.strip() for code in os.environ.get("SPEECH_LANGUAGES", "en").split(",") if code.strip()]

# House ads: ADS_ENABLED=0 switches them off entirely; otherwise about one page view in
# ADS_EVERY_N_VIEWS shows one (drawn at random per view, nobody's views are counted).
ADS_ENABLED = env_bool("ADS_ENABLED", default=True)
ADS_EVERY_N_VIEWS = int(os.environ.get("ADS_EVERY_N_VIEWS", "4"))

# Web push (push/, docs/pwa.md): the VAPID key pair, base64url. Unset, a pair is generated on first use into
# VAR_DIR and kept; with several machines set both, so every process signs with the same key.
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
# Who push services may contact about this server's notifications (mailto: or https:).
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", f"mailto:{DEFAULT_FROM_EMAIL.rpartition('<')[2].rstrip('>').strip()}")
# The push services a subscription may point at (host suffixes, https only): the server posts to a
# subscription's endpoint, so an endpoint elsewhere (an address inside the network) is refused.
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    ["fcm.googleapis.com", "push.services.mozilla.com", "push.apple.com", "notify.windows.com"],
)
PUSH_ALLOW_HTTP = False  # tests point subscriptions at a local fake push service
