"""Detached PKCS#7 signatures of manifest.json, the way Apple Wallet verifies them: DER, the WWDR
intermediate embedded, a signing-time attribute, binary mode. Key and certificates are parsed once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7


class PassSigner:
    def __init__(self, cert: Path, key: Path, wwdr: Path, password: bytes | None = None) -> None:
        self.cert = x509.load_pem_x509_certificate(cert.read_bytes())
        self.key = serialization.load_pem_private_key(key.read_bytes(), password)
        self.wwdr = x509.load_pem_x509_certificate(wwdr.read_bytes())

    def sign(self, manifest: bytes) -> bytes:
        # OpenSSL adds the signingTime, contentType and messageDigest attributes; without a signing
        # time devices refuse the pass.
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(self.cert, self.key, hashes.SHA256())  # type: ignore[arg-type]
            .add_certificate(self.wwdr)
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
        )


@lru_cache(maxsize=4)
def signer_for(cert: Path, key: Path, wwdr: Path, password: bytes | None = None) -> PassSigner:
    """One signer per process and credential set (re-parsing the key per pass costs ~45 ms)."""
    return PassSigner(cert, key, wwdr, password)
