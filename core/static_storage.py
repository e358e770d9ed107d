"""Static files: hashed names, compressed copies, cached for a year (WhiteNoise) — module imports included.

`chat.js` imports `./stickers.js`. Without rewriting that import, the hashed `chat.<hash>.js` asked for the
unhashed `stickers.js`, which is cached for a minute only and fetched after chat.js arrived (a request chain on
every conversation). Django rewrites ES module imports to the hashed names when asked to.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
