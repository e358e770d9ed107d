"""The app's URLs plus bench/bare.py's endpoints (for `bench.settings_bare`)."""

from bench.bare import urlpatterns as bare
from same.urls import urlpatterns as app

urlpatterns = [*bare, *app]
