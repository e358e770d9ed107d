"""The server's VAPID key pair (RFC 8292): push services check that a notification comes from whoever the
browser subscribed with.

In production, set VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY (base64url, as `npx web-push generate-vapid-keys`
or `vapid --gen` print them). Otherwise the pair is generated on first use into the var directory, beside
the secret key, and kept: changing it would silently end every subscription.
"""

import base64
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02

KEY_FILE = "vapid_private_key.pem"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKeys:
    signer: Vapid02
    public_key: str  # the uncompressed P-256 point, base64url: the browser's applicationServerKey


def _public_of(private: ec.EllipticCurvePrivateKey) -> str:
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


def _from_environment(private_b64: str, public_b64: str) -> VapidKeys:
    try:
        signer = Vapid02.from_string(private_key=private_b64)
    except Exception as error:  # py_vapid raises whatever its parser met
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY is not a base64url P-256 private key.") from error
    public = _public_of(signer.private_key)
    if public_b64 and public_b64.rstrip("=") != public:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY.")
    return VapidKeys(signer=signer, public_key=public)


def _from_file(path: Path) -> VapidKeys:
    if not path.exists():
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Written aside, then linked into place: the web process and the task worker may both start first;
        # the link fails for the second, and nobody ever reads a half-written file.
        spare = path.with_name(f".{KEY_FILE}.{os.getpid()}")
        with os.fdopen(os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(pem)
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ImproperlyConfigured(f"{path} does not hold an elliptic-curve private key.")
    signer = Vapid02(private_key=loaded)
    return VapidKeys(signer=signer, public_key=_public_of(loaded))


@cache
def vapid_keys() -> VapidKeys:
    private_b64: str = getattr(settings, "VAPID_PRIVATE_KEY", "")
    public_b64: str = getattr(settings, "VAPID_PUBLIC_KEY", "")
    if private_b64:
        return _from_environment(private_b64, public_b64)
    return _from_file(Path(settings.VAR_DIR) / KEY_FILE)
