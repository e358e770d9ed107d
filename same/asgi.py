"""One ASGI application: HTTP for pages and the API, WebSocket for real time at /ws/.

HTTP goes through Django's WSGI handler in a pool of threads (core/http_bridge.py): one thread hop per
request instead of the several of Django's ASGI handler — the choice measured in docs/performance.md,
"The serving stack". `HTTP_HANDLER=asgi` serves HTTP through Django's ASGI handler instead.
"""

import gc
import os
from typing import Any

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from core.http_bridge import WSGIBridge  # noqa: E402
from core.realtime import websocket_urlpatterns  # noqa: E402

http_application: Any
if settings.HTTP_HANDLER == "asgi":
    http_application = get_asgi_application()
else:
    http_application = WSGIBridge(get_wsgi_application(), threads=settings.HTTP_THREADS)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What start-up made (modules, classes, settings, URL patterns, translations: ~100k objects) lives as long as the
# process, yet every full pass of the cyclic garbage collector walked it: ~50 ms of CPU here, with every thread
# and the event loop stopped meanwhile — a pause any request or delivery in flight waits out. Collected once, then
# frozen: the collector leaves those objects alone from now on (they are never garbage; anything start-up left
# unreachable is freed by this last collection first). docs/performance.md, "Chat delivery".
gc.collect()
gc.freeze()
