"""APNs pushes that tell a device a pass changed: HTTP/2 with the pass-type certificate,
topic = pass type id, an empty JSON payload. 410 means the device is gone."""

from __future__ import annotations

import logging

import httpx

from shared.config import Settings
from wallet.dev_certs import ensure_dev_chain

log = logging.getLogger("loyalty.wallet.apns")


class ApnsClient:
    def __init__(self, settings: Settings) -> None:
        creds = ensure_dev_chain(settings)
        self.topic = settings.wallet.apple_pass_type_id
        verify: str | bool = str(settings.wallet.apns_ca_file) if settings.wallet.apns_ca_file else True
        self.http = httpx.AsyncClient(http2=True, base_url=settings.wallet.apns_url, timeout=10,
                                      cert=(str(creds.cert), str(creds.key)), verify=verify)

    async def push(self, token: str) -> int:
        """Push to one device; returns the HTTP status (0 when APNs could not be reached)."""
        try:
            answer = await self.http.post(f"/3/device/{token}", content=b"{}",
                                          headers={"apns-topic": self.topic, "apns-priority": "5"})
        except httpx.HTTPError as exc:
            log.warning("APNs unreachable for device %s…: %r", token[:8], exc)
            return 0
        log.info("APNs push to device %s… for %s: %s", token[:8], self.topic, answer.status_code)
        return answer.status_code

    async def close(self) -> None:
        await self.http.aclose()
