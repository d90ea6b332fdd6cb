"""Channels deliver one message each and say what happened; routing, consent, quiet hours and
retries live once, above them."""

from notifications.channels.base import Channel, DeliveryResult, DeliveryStatus, OutgoingMessage

__all__ = ["Channel", "DeliveryResult", "DeliveryStatus", "OutgoingMessage"]
