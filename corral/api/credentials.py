"""The administrator's access key as the AWS CLI and SDKs read it: a profile in an AWS credentials file.

``corral serve`` writes the profile into ``DIR/credentials`` (named by ``endpoints.json``) so that
``AWS_SHARED_CREDENTIALS_FILE=DIR/credentials AWS_PROFILE=corral`` is all a client needs; other profiles
in the file are kept.
"""

from __future__ import annotations

import configparser
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

CREDENTIALS_FILE = "credentials"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str


def new_access_key() -> AccessKey:
    """A key shaped like AWS's: ``AKIA`` + 16 characters, and a 40-character secret."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return AccessKey(key_id, secret)


def write_profile(path: Path, profile: str, key: AccessKey, region: str) -> None:
    """Adds or replaces ``profile`` in the credentials file, atomically and readable by its owner only."""
    parser = configparser.ConfigParser(interpolation=None)
    if path.exists():
        parser.read(path)
    parser[profile] = {
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
        "region": region,
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        parser.write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_profile(path: Path, profile: str) -> AccessKey | None:
    parser = configparser.ConfigParser(interpolation=None)
    if not path.exists():
        return None
    parser.read(path)
    if profile not in parser:
        return None
    section = parser[profile]
    key_id, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if not key_id or not secret:
        return None
    return AccessKey(key_id, secret)
