"""Secrets handed to callers: staff login tokens and organisation API keys.

Both are 256-bit random strings, so a single SHA-256 is enough to store them
(a slow password hash would only slow every request); passwords, chosen by people,
get argon2 in accounts.passwords.
"""

import hashlib
import secrets
from dataclasses import dataclass

STAFF_TOKEN_PREFIX = "st_"
API_KEY_PREFIX = "sk_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_staff_token() -> str:
    return STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewApiKey:
    prefix: str  # public identifier, safe to list and log
    secret: str  # the whole key, shown once

    @property
    def hash(self) -> str:
        return digest(self.secret)


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(4)
    return NewApiKey(prefix=prefix, secret=f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}")
