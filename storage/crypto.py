"""Encryption of contact details at rest, lookup hashes and pseudonyms under VOICES_DATA_KEY."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


class Vault:
    """Encrypts addresses, hashes them for lookup and derives pseudonyms; all keyed by one key."""

    def __init__(self, data_key: str) -> None:
        raw = base64.urlsafe_b64decode(data_key.encode())
        self._fernet = Fernet(data_key.encode())
        self._lookup_key = _derive(raw, b"community-voices lookup v1")
        self._pseudonym_key = _derive(raw, b"community-voices pseudonym v1")

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a contact detail (phone number, chat id) for storage."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt a stored contact detail; raises ValueError when the key does not fit."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored contact detail cannot be decrypted with this key") from exc

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Encrypt a raw provider payload for storage."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Decrypt a stored raw provider payload."""
        return self._fernet.decrypt(token)

    def address_hash(self, channel: str, address: str) -> str:
        """Keyed hash used to find a resident by channel and address without decrypting."""
        # A caller is the same person as the texter from that number: calls are SMS's family.
        family = {"telegram": "telegram", "voice": "sms"}.get(channel, channel)
        message = f"{family}:{address.strip()}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def message_key(self, channel: str, provider_id: str) -> str:
        """Keyed hash of a message's provider id: what erasure keeps to know a replay."""
        message = f"message:{channel}:{provider_id}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def pseudonym(self, community_slug: str, address_hash: str) -> str:
        """Stable, irreversible name staff see instead of a contact detail."""
        digest = hmac.new(
            self._pseudonym_key, f"{community_slug}:{address_hash}".encode(), hashlib.sha256
        ).digest()
        return "r-" + base64.b32encode(digest[:10]).decode().lower()[:12]
