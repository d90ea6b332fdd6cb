"""APNs pushes that tell a device a pass changed: HTTP/2 with the pass-type certificate,
topic = pass type id, an empty JSON payload. 410 means the device is gone."""

from __future__ import annotations

import json
import logging
import ssl
from datetime import UTC, datetime

import certifi
import httpx

from shared.config import Settings
from shared.files import append_private
from wallet.dev_certs import ensure_dev_chain

log = logging.getLogger("loyalty.wallet.apns")


APPLE_GATEWAY = "https://api.push.apple.com"


class ApnsClient:
    def __init__(self, settings: Settings) -> None:
        creds = ensure_dev_chain(settings)
        self.topic = settings.wallet.apple_pass_type_id
        # Dev mode (a generated chain, Apple's own gateway): Apple would refuse our certificate, so
        # pushes are written to var/wallet/apns.jsonl instead of being sent.
        self.dev_log = (
            settings.var_dir / "wallet" / "apns.jsonl"
            if creds.root is not None and settings.wallet.apns_url == APPLE_GATEWAY
            else None
        )
        # one TLS context: our client certificate, and the gateway's CA (certifi's, as httpx's default)
        tls = ssl.create_default_context(cafile=str(settings.wallet.apns_ca_file or certifi.where()))
        tls.load_cert_chain(str(creds.cert), str(creds.key))
        self.http = httpx.AsyncClient(http2=True, base_url=settings.wallet.apns_url, timeout=10, verify=tls)

    async def push(self, token: str) -> int:
        """Push to one device; returns the HTTP status (0 when APNs could not be reached)."""
        if self.dev_log is not None:
            line = json.dumps(
                {"device_token": token, "topic": self.topic, "payload": {}, "at": datetime.now(UTC).isoformat()}
            )
            with append_private(self.dev_log) as out:
                out.write(line + "\n")
            log.info("APNs push (dev mode, logged to %s) to device %s… for %s", self.dev_log, token[:8], self.topic)
            return 200
        try:
            answer = await self.http.post(
                f"/3/device/{token}", content=b"{}", headers={"apns-topic": self.topic, "apns-priority": "5"}
            )
        except httpx.HTTPError as exc:
            log.warning("APNs unreachable for device %s…: %r", token[:8], exc)
            return 0
        log.info("APNs push to device %s… for %s: %s", token[:8], self.topic, answer.status_code)
        return answer.status_code

    async def close(self) -> None:
        await self.http.aclose()
