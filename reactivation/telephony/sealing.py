"""Credentials kept in the database are sealed with a key derived from ``SECRET_KEY``.

No Django here. Encrypt-then-MAC with the standard library alone (the lock carries no
cryptography package): the keystream is HMAC-SHA256 of a random nonce and a block counter
(a PRF in counter mode), and an HMAC-SHA256 tag over nonce and ciphertext is checked, in
constant time, before anything is decrypted. Changing ``SECRET_KEY`` makes sealed values
unreadable: the account's credentials must then be typed again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "v1:"
_NONCE = 16
_TAG = 32


class SealError(ValueError):
    """A sealed value that was not made with this key, or was altered."""


def _keys(secret: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(("telephony-seal:" + secret).encode()).digest()
    return (
        hmac.new(root, b"encrypt", hashlib.sha256).digest(),
        hmac.new(root, b"authenticate", hashlib.sha256).digest(),
    )


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
    return bytes(out[:length])


def seal(plain: str, *, secret: str) -> str:
    """``plain`` sealed as text; the empty string stays empty (no credential)."""
    if not plain:
        return ""
    enc_key, mac_key = _keys(secret)
    nonce = os.urandom(_NONCE)
    data = plain.encode()
    body = bytes(a ^ b for a, b in zip(data, _stream(enc_key, nonce, len(data)), strict=True))
    tag = hmac.new(mac_key, nonce + body, hashlib.sha256).digest()
    return PREFIX + base64.urlsafe_b64encode(nonce + body + tag).decode()


def unseal(sealed: str, *, secret: str) -> str:
    if not sealed:
        return ""
    if not sealed.startswith(PREFIX):
        raise SealError("not a sealed value")
    raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode())
    if len(raw) < _NONCE + _TAG:
        raise SealError("too short")
    nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    enc_key, mac_key = _keys(secret)
    expected = hmac.new(mac_key, nonce + body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, tag):
        raise SealError("the value was altered or sealed with another key")
    return bytes(
        a ^ b for a, b in zip(body, _stream(enc_key, nonce, len(body)), strict=True)
    ).decode()
