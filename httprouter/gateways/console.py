"""The console's phone simulator as a gateway: a reply pushed to it is delivered to it.

The simulator (the console's "message tester") texts the router as a phone on backend `console`
and shows the apps' replies in its thread, so a reply has reached the simulated phone as soon as
it is pushed. Pushing it is therefore the phone's delivery report: a call to the backend's own
report URL with `status=delivered`. The reply ends delivered (D), as on a real handset, rather
than waiting queued for a gateway that does not exist (which `/router/status` would count as
pending after STATUS_PENDING_MINUTES).

A backend named `console` that neither BACKENDS nor ROUTER_URL's dict names gets this engine
(see the registry); naming it there gives it another.
"""

from __future__ import annotations

from ..domain.statuses import DELIVERED
from ..errors import ValidationError
from ..store.reports import Report
from .base import Call, GatewayEngine, Outbound, PreparedRequest

SIMULATOR_BACKEND = "console"  # the simulator's default backend
REPORTED = "delivered"  # the one status the simulated phone reports


class ConsoleEngine(GatewayEngine):
    """The simulated phone: every message pushed to it is reported delivered."""

    def prepare_request(self, message: Outbound) -> PreparedRequest:
        """The phone's report that `message` reached it: a GET of the message's report URL."""
        return PreparedRequest("GET", f"{self.report_url(message)}&status={REPORTED}")

    def read_reports(self, call: Call) -> list[Report]:
        """Read the phone's report; any status but `delivered` is refused."""
        raw = call.params.get("status")
        if raw != REPORTED:
            raise ValidationError(f"status must be {REPORTED!r}", field="status")
        return [Report(self.our_id(call), DELIVERED, dict(call.params), raw_status=raw)]


# The short names of this module's engines, for BACKENDS' ENGINE.
ENGINES = {"console": ConsoleEngine}
