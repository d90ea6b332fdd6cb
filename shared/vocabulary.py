"""The words the whole program shares, each defined once.

- A *channel* is a delivery medium: how a message reaches a member, and what a consent is given for.
  (The classes that talk to a provider are *adapters*, in notifications/channels/.)
- A *registration source* is where a member signed up. The API calls it `channel` (see API.md);
  inside the code it is `source`.
- A *language* is one the member-facing texts exist in; the first is the default.
"""

from __future__ import annotations

CHANNELS = ("sms", "viber", "email", "push", "telegram")
# The order a campaign form offers the channels in: the cheapest first.
CHANNELS_CHEAPEST_FIRST = ("telegram", "push", "viber", "sms", "email")

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

REGISTRATION_SOURCES = ("pos", "web", "bot", "api", "import")

if sorted(CHANNELS_CHEAPEST_FIRST) != sorted(CHANNELS):  # pragma: no cover - a typo in this file
    raise RuntimeError("CHANNELS_CHEAPEST_FIRST must order exactly the CHANNELS")
