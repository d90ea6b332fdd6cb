"""Dev mode: a throwaway root -> WWDR-like intermediate -> pass-type certificate chain, so passes
are signed and verifiable locally without an Apple account. Real credentials replace it (docs/wallet.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.config import Settings
from shared.files import private_dir, write_private


@dataclass(frozen=True)
class PassCredentials:
    cert: Path
    key: Path
    wwdr: Path
    root: Path | None


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _write(path: Path, data: bytes) -> None:
    write_private(path, data)  # 0600 from the first byte, certificates too (nobody else needs them)


def _ca(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    path_length: int,
    now: dt.datetime,
) -> x509.Certificate:
    """A certificate authority valid ten years: the dev root, or the WWDR-like intermediate."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def ensure_dev_chain(settings: Settings) -> PassCredentials:
    """The configured Apple credentials, or (once) a generated dev chain under var/wallet/."""
    w = settings.wallet
    if w.apple_cert_file and w.apple_key_file and w.apple_wwdr_file:
        return PassCredentials(w.apple_cert_file, w.apple_key_file, w.apple_wwdr_file, None)
    folder = settings.var_dir / "wallet"
    creds = PassCredentials(
        folder / "dev-pass-cert.pem", folder / "dev-pass-key.pem", folder / "dev-wwdr.pem", folder / "dev-root.pem"
    )
    marker = folder / f"dev-chain-{w.apple_pass_type_id}-{w.apple_team_id}"
    if marker.exists() and creds.cert.exists():
        return creds
    private_dir(folder)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name((NameOID.COMMON_NAME, "Loyalty Dev Root CA"), (NameOID.ORGANIZATION_NAME, "Loyalty dev"))
    root = _ca(root_name, root_name, root_key.public_key(), root_key, path_length=1, now=now)
    wwdr_key = ec.generate_private_key(ec.SECP256R1())
    wwdr_name = _name(
        (NameOID.COMMON_NAME, "Loyalty Dev Worldwide Developer Relations CA"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
        (NameOID.ORGANIZATION_NAME, "Loyalty dev"),
    )
    wwdr = _ca(wwdr_name, root_name, wwdr_key.public_key(), root_key, path_length=0, now=now)
    pass_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pass_name = _name(
        (NameOID.USER_ID, w.apple_pass_type_id),
        (NameOID.COMMON_NAME, f"Pass Type ID: {w.apple_pass_type_id}"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, w.apple_team_id),
        (NameOID.ORGANIZATION_NAME, w.organization_name),
        (NameOID.COUNTRY_NAME, "RU"),
    )
    pass_cert = (
        x509.CertificateBuilder()
        .subject_name(pass_name)
        .issuer_name(wwdr_name)
        .public_key(pass_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .sign(wwdr_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(creds.root, root.public_bytes(pem))  # type: ignore[arg-type]
    _write(creds.wwdr, wwdr.public_bytes(pem))
    _write(creds.cert, pass_cert.public_bytes(pem))
    _write(creds.key, pass_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    write_private(marker, "generated\n")
    return creds
