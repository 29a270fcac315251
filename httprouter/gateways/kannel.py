"""Kannel (Kannel user guide: "Sending SMS" — sendsms, X-Kannel headers —, "Delivery reports",
and the sms-service get-url escape codes).

Outbound: smsbox's sendsms. POST (the default) carries the credentials in `X-Kannel-Username`/
`X-Kannel-Password` headers and the text as the body, so the gateway password never appears in a
URL or an access log. GET puts everything in the query string, as the legacy router did. Kannel
splits a long text into concatenated parts itself when its sendsms-user allows it
(`max-messages` above 1 and `concatenation = true`; docs/gateways/kannel.md).

Inbound: an sms-service get-url with the legacy parameters (`sender=%p&message=%b&id=%I&to=%P
&coding=%c&charset=%C`); `%b` keeps the exact bytes, decoded with `%C`/`%c` (UCS-2 is UTF-16BE).

Reports: Kannel fills `%d` in the dlr-url with the DLR type (legacy.DLR_STATUS).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ..domain.encodings import is_gsm7, segment_count
from ..errors import ConfigError
from ..store.reports import Report
from . import legacy
from .base import Call, GatewayEngine, Inbound, Outbound, PreparedRequest, header_safe

# dlr-mask bits (Kannel user guide, "Delivery reports"): 1 delivered, 2 undelivered,
# 4 buffered, 8 SMSC accepted, 16 SMSC rejected. 31 asks for all of them but intermediates.
DEFAULT_DLR_MASK = 31
DEFAULT_SENDSMS_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"


class KannelEngine(GatewayEngine):
    """Push to Kannel's smsbox `sendsms`, asking for delivery reports to our report URL.

    Options: `url` (the sendsms URL), `sendsms_user` and `sendsms_password` (a `sendsms-user`
    group; named so to keep them apart from the receive-side `password` option), `sender`
    (Kannel's `from`), `smsc` (default: the backend's name, so replies leave through the SMSC
    they came in on), `dlr_mask` (default 31; 0 asks for no reports), `method` (POST or GET).
    Text outside GSM 03.38 goes as `coding=2` with `charset=UTF-8`; GSM text goes as is. ::

        BACKENDS = {"mtn": {"ENGINE": "kannel",
                            "url": "http://127.0.0.1:13013/cgi-bin/sendsms",
                            "sendsms_user": "router", "sendsms_password": "s3cret",
                            "sender": "8080", "rate_limit": 20}}
    """

    def configure(
        self,
        url: str = DEFAULT_SENDSMS_URL,
        sendsms_user: str | None = None,
        sendsms_password: str | None = None,
        sender: str | None = None,
        smsc: str | None = None,
        dlr_mask: int = DEFAULT_DLR_MASK,
        method: str = "POST",
    ) -> None:
        """Take the sendsms URL, credentials and defaults."""
        self.url = url
        self.sendsms_user = sendsms_user
        self.sendsms_password = sendsms_password
        self.sender = sender
        self.smsc = smsc if smsc is not None else self.name
        if not isinstance(dlr_mask, int) or not 0 <= dlr_mask <= 63:
            raise ConfigError(f"BACKENDS[{self.name!r}]: dlr_mask must be 0-63", field="BACKENDS")
        self.dlr_mask = dlr_mask
        self.method = method.upper()
        if self.method not in ("GET", "POST"):
            raise ConfigError(f"BACKENDS[{self.name!r}]: method must be GET or POST", field=url)
        self.secrets = tuple(s for s in (sendsms_password,) if s)

    def parameters(self, message: Outbound) -> dict[str, str]:
        """The sendsms parameters for `message`, by their GET names (no credentials)."""
        params = {"to": message.recipient}
        sender = message.sender or self.sender
        if sender:
            params["from"] = sender
        if self.smsc:
            params["smsc"] = self.smsc
        if not is_gsm7(message.text):
            params.update(coding="2", charset="UTF-8")
        if self.dlr_mask:
            params.update({"dlr-mask": str(self.dlr_mask), "dlr-url": self.report_url(message)})
        if message.priority > 0:
            params["priority"] = str(min(message.priority, 3))
        return params

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """Build the sendsms request: POST with X-Kannel-* headers, or GET with a query."""
        params = self.parameters(message)
        segments = segment_count(message.text)[1]
        if self.method == "GET":
            query: list[tuple[str, Any]] = []
            if self.sendsms_user is not None:
                query += [("username", self.sendsms_user), ("password", self.sendsms_password)]
            query += [("text", message.text), *params.items()]
            separator = "&" if "?" in self.url else "?"
            return PreparedRequest(
                "GET", self.url + separator + urlencode(query), segments=segments
            )
        headers = {"Content-Type": "text/plain; charset=UTF-8"}
        if self.sendsms_user is not None:
            headers["X-Kannel-Username"] = self.sendsms_user
            headers["X-Kannel-Password"] = self.sendsms_password or ""
        for name, value in params.items():
            if name != "charset":  # the charset travels in Content-Type
                headers["X-Kannel-" + _HEADER_NAMES[name]] = header_safe(value)
        return PreparedRequest(
            "POST", self.url, headers, message.text.encode("utf-8"), segments=segments
        )

    def report_url(self, message: Outbound) -> str:
        """Our report URL with Kannel's `%d` (the DLR type) for the status."""
        return super().report_url(message) + "&status=%d"

    def read_inbound(self, call: Call) -> list[Inbound]:
        """Read the sms-service get-url call (the legacy parameters)."""
        return [legacy.read_inbound(call)]

    def read_reports(self, call: Call) -> list[Report]:
        """Read a DLR: `status` is the DLR type; a missing or unknown one is refused."""
        raw = call.params.get("status")
        status = legacy.report_status(raw)
        return [Report(self.our_id(call), status, dict(call.params), raw_status=raw)]


_HEADER_NAMES = {
    "to": "To",
    "from": "From",
    "smsc": "SMSC",
    "coding": "Coding",
    "dlr-mask": "DLR-Mask",
    "dlr-url": "DLR-Url",
    "priority": "Priority",
}


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"kannel": KannelEngine}
