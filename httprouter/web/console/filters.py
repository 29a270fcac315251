"""The log page's filters: read from the URL into the store's LogFilter, and given back for links.

The filter rules are the store's (store/log.py), the same as `/router/messages`. What is the
console's own: the contact box finds identities that contain what was typed (part of a number),
the "To" date includes that day, and paging goes both ways (`before=<id>` older, `after=<id>`
newer). The form and the links show the filters again: the boxes as typed, the direction and
the statuses as letters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...domain.params import direction_param, int_param, statuses_param, text_param, time_param
from ...errors import ValidationError
from ...store.log import LogFilter

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_FILTER_LENGTH = 200
MAX_CURSOR = 2**62
FILTER_NAMES = ("direction", "status", "backend", "contact", "q", "since", "until")


@dataclass
class LogFilters:
    """What the operator asked to see, for the form and links; `wanted` is it for the store."""

    direction: str = ""
    status: str = ""
    backend: str = ""
    contact: str = ""
    q: str = ""
    since: str = ""
    until: str = ""
    before: int | None = None
    after: int | None = None
    limit: int = PAGE_SIZE
    wanted: LogFilter = field(default_factory=LogFilter)

    def query(self, **changes: Any) -> dict[str, Any]:
        """Return the filters as URL parameters (empty ones left out), with `changes` applied."""
        params: dict[str, Any] = {name: getattr(self, name) for name in FILTER_NAMES}
        if self.limit != PAGE_SIZE:
            params["limit"] = self.limit
        params.update(changes)
        return {k: v for k, v in params.items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        """Tell whether any filter (not paging) is set."""
        return any(getattr(self, name) for name in FILTER_NAMES)


def _text(args: Mapping[str, Any], name: str) -> str:
    value = (text_param(args, name) or "").strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise ValidationError(f"{name} is longer than {MAX_FILTER_LENGTH} characters", field=name)
    return value


def parse_filters(args: Mapping[str, Any]) -> LogFilters:
    """Read the log filters from URL parameters; a bad one raises ValidationError naming it."""
    typed = {name: _text(args, name) for name in FILTER_NAMES}
    direction = direction_param(typed)
    statuses = statuses_param(typed)
    before = int_param(args, "before", minimum=1, maximum=MAX_CURSOR)
    after = int_param(args, "after", minimum=1, maximum=MAX_CURSOR)
    limit = int_param(args, "limit", minimum=1, maximum=MAX_PAGE_SIZE) or PAGE_SIZE
    wanted = LogFilter(
        direction=direction,
        statuses=statuses,
        backend=typed["backend"] or None,
        contact_contains=typed["contact"] or None,
        text=typed["q"] or None,
        since=time_param(typed, "since"),
        until=time_param(typed, "until", through_the_day=True),
        before_id=before,
        after_id=after,
        limit=limit,
    )
    filters = LogFilters(before=before, after=after, limit=limit, wanted=wanted)
    for name in FILTER_NAMES:
        setattr(filters, name, typed[name])
    filters.direction = direction or ""  # the letter, as the form's options have it
    filters.status = ",".join(statuses)
    return filters
