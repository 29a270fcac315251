"""nyaruka's android-sms-relay, and other legacy pollers built for rapidsms-httprouter
(gateways.md §2; the app's RelayService and SettingsActivity).

The app speaks the legacy contract exactly, on the legacy URLs, each built from its settings
(Hostname, Backend, Password) as `http://H/router/<url>?backend=B&password=P&`:
- inbound: `GET /router/receive?backend=B&password=P&&sender=<…>&message=<…>` (Java's
  URLEncoder: UTF-8, space as `+`). With "Process Outgoing" on it sends every entry of the
  answer's `responses` whose `direction` is `O` and `status` is `Q`, once per `id`;
- outbox: `GET /router/outbox?backend=B&password=P&`, reading `outbox[]`'s `id`, `contact`,
  `text`, `direction`, `status`; it skips an `id` it already has;
- sent: `GET /router/delivered?backend=B&password=P&&message_id=N` (no status: delivered, as the
  old router had it);
- alerts: `POST /router/alert` with `password`, `subject` ("[B] …") and `body`.

It dials `"+" + contact`. The old router's normaliser stored `250788…`; ours keeps the `+`, so
this engine shows the app every contact without its leading `+`. It also leaves out of
`responses` the replies that leave through other backends, which the phone would send too.
Nothing else changes: the legacy endpoints keep their contract for every other backend.
"""

from __future__ import annotations

from typing import Any

from .base import GatewayEngine


class RelayerEngine(GatewayEngine):
    """A phone that polls the legacy /router/outbox (android-sms-relay). No options. ::

    BACKENDS = {"android": {"ENGINE": "relayer", "password": "relay-pw"}}
    """

    push = False

    def outbox_entry(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """The message with `contact` as the app dials it (it prepends the `+`); another
        backend's reply is not this phone's to send."""
        if message.get("backend") != self.name:
            return None
        contact = message.get("contact")
        if isinstance(contact, str):
            message = {**message, "contact": contact.removeprefix("+")}
        return message


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"relayer": RelayerEngine}
