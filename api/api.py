from ninja import NinjaAPI

from . import errors
from .routers import accounts, ads, channels, chat, moderation, posts, punches, push, recommendations, stickers

api = NinjaAPI(
    title="same",
    version="1",
    description="The JSON API of same. Errors are `{code, message, fields}`; ids are opaque strings.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("", accounts.router)
api.add_router("", channels.router)
api.add_router("", posts.router)
api.add_router("", moderation.router)
api.add_router("", punches.router)
api.add_router("", chat.router)
api.add_router("", stickers.router)
api.add_router("", recommendations.router)
api.add_router("", ads.router)
api.add_router("", push.router)
