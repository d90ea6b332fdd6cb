"""shared/signing.py keeps the wire format of every token already issued: links in sent e-mails,
wallet pass URLs and cabinet cookies must go on verifying after the move to one helper."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from notifications.unsubscribe_links import unsubscribe_token, verify_unsubscribe_token
from shared import signing
from shared.config import Settings
from shared.login_codes import hash_code
from wallet.links import sign_pass_path, verify_pass_signature
from webapp.cabinet.session_cookie import read_phone, read_session

SECRET = "a-long-enough-test-secret-of-32-bytes!"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MEMBER = uuid.UUID("12345678-1234-5678-1234-567812345678")


def _old_hmac(message: str) -> bytes:
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()


def _settings() -> Settings:
    return Settings(secret_key=SECRET)


def test_a_wallet_pass_url_signed_before_still_verifies() -> None:
    expires = int((NOW + timedelta(days=30)).timestamp())
    old = base64.urlsafe_b64encode(_old_hmac(f"pkpass:abc123:{expires}")[:18]).decode().rstrip("=")
    assert sign_pass_path(SECRET, "abc123", expires) == old
    assert verify_pass_signature(SECRET, "abc123", expires, old, NOW)
    assert not verify_pass_signature(SECRET, "abc123", expires, old, NOW + timedelta(days=31))
    assert not verify_pass_signature(SECRET, "abc124", expires, old, NOW)


def test_an_unsubscribe_link_sent_before_still_verifies() -> None:
    mac = _old_hmac(f"unsubscribe:email:{MEMBER}")[:16]
    old = (
        base64.urlsafe_b64encode(MEMBER.bytes).rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    )
    assert unsubscribe_token(_settings(), MEMBER) == old
    assert verify_unsubscribe_token(_settings(), old) == MEMBER
    assert verify_unsubscribe_token(_settings(), old, channel="sms") is None


def test_login_code_hashes_stored_before_still_match() -> None:
    assert hash_code(SECRET, "+79123456789", "123456") == _old_hmac("login:+79123456789:123456").hex()


def test_cabinet_cookies_issued_before_still_read() -> None:
    now = int(NOW.timestamp())
    session = jwt.encode(
        {"sub": str(MEMBER), "aud": "cabinet", "iat": now, "exp": now + 3600, "gen": 2},
        _old_hmac("cabinet:session"),
        algorithm="HS256",
    )
    read = read_session(_settings(), session, NOW)
    assert read is not None
    assert (read.member_id, read.generation) == (MEMBER, 2)
    assert read_session(_settings(), session, NOW + timedelta(hours=1)) is None
    phone = jwt.encode(
        {"phone": "+79123456789", "aud": "cabinet:phone", "exp": now + 600},
        _old_hmac("cabinet:phone"),
        algorithm="HS256",
    )
    assert read_phone(_settings(), phone, NOW) == "+79123456789"
    assert read_phone(_settings(), phone, NOW + timedelta(minutes=10)) is None


def test_a_token_signed_for_one_purpose_fails_every_other() -> None:
    token = signing.encode_claims(SECRET, "cabinet:email", {"sub": "x", "exp": int(NOW.timestamp()) + 60})
    assert signing.decode_claims(SECRET, "cabinet:email", token, NOW, require=("sub",)) == {
        "sub": "x",
        "exp": int(NOW.timestamp()) + 60,
    }
    assert signing.decode_claims(SECRET, "cabinet:session", token, NOW) is None
    assert signing.decode_claims(SECRET + "x", "cabinet:email", token, NOW) is None
    assert signing.decode_claims(SECRET, "cabinet:email", token, NOW, require=("email",)) is None
    assert signing.decode_claims(SECRET, "cabinet:email", token, NOW + timedelta(minutes=1)) is None
    assert signing.decode_claims(SECRET, "cabinet:email", "not.a.token", NOW) is None
