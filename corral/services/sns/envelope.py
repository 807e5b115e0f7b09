"""The JSON documents SNS sends (SubscriptionConfirmation, Notification, UnsubscribeConfirmation) and their
signatures.

AWS signs with its own certificate; Corral signs with a key and certificate of its own, issued by the Corral
root CA and kept under ``DATA_DIR/sns``, and serves that certificate at ``SigningCertURL``. A subscriber that
verifies signatures must trust the Corral root CA instead of Amazon's. The string to sign is AWS's: the
fields ``Message, MessageId, Subject (when present), Timestamp, TopicArn, Type`` for a notification and
``Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type`` for the confirmations, each as
``name\\nvalue\\n``; SignatureVersion 1 is RSA with SHA-1, 2 RSA with SHA-256.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from corral.auth.ca import CorralPKI, issue_client_certificate

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(document: Mapping[str, Any]) -> bytes:
    fields = NOTIFICATION_FIELDS if document["Type"] == "Notification" else CONFIRMATION_FIELDS
    parts = [f"{name}\n{document[name]}\n" for name in fields if document.get(name) is not None]
    return "".join(parts).encode()


class Signer:
    def __init__(self, certificate_pem: bytes, key_pem: bytes) -> None:
        self.certificate_pem = certificate_pem
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the SNS signing key must be RSA")
        self._key = key

    @classmethod
    def load_or_create(cls, pki: CorralPKI, data_dir: Path) -> Signer:
        folder = data_dir / "sns"
        cert_file, key_file = folder / "signing-cert.pem", folder / "signing-key.pem"
        if not (cert_file.is_file() and key_file.is_file()):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            cert_pem, key_pem = issue_client_certificate(pki, "Corral SNS message signing")
            assert key_pem is not None
            key_file.write_bytes(key_pem)
            key_file.chmod(0o600)
            cert_file.write_bytes(cert_pem)
        return cls(cert_file.read_bytes(), key_file.read_bytes())

    def sign(self, document: dict[str, Any], version: str = "1") -> dict[str, Any]:
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self._key.sign(string_to_sign(document), padding.PKCS1v15(), digest)
        document["SignatureVersion"] = version
        document["Signature"] = base64.b64encode(signature).decode()
        return document
