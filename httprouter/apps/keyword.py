"""KeywordApp: the base for apps that answer `KEYWORD arguments` messages.

A subclass names its keywords (a regular expression of alternatives) and marks methods with
`@pattern(regex)`; the text after the keyword is matched against each pattern in the order the
methods are defined, and the first match is called with the pattern's named groups. Text that
matches no pattern gets the app's help text.

Example::

    class RegisterApp(KeywordApp):
        keyword = "register|reg|join"
        help_text = "Send REGISTER followed by your name."

        @pattern(r"(?P<name>.+)")
        def register(self, msg, name):
            msg.respond(f"Thank you, {name}.")

`+2507 > reg Ann` → `+2507 < Thank you, Ann.`; `+2507 > reg` → the help text.

Set `answer_unknown = True` on one keyword app (or pass it as an option) to answer messages that
no app handled with the list of known keywords.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from ..domain.messages import IncomingMessage
from .base import AppBase

_PATTERN_ATTR = "_keyword_pattern"


def pattern(regex: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a KeywordApp method as the handler of arguments that fully match `regex`."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, _PATTERN_ATTR, re.compile(regex, re.IGNORECASE | re.DOTALL))
        return func

    return mark


class KeywordApp(AppBase):
    """Dispatch `KEYWORD arguments` messages to pattern methods; answer help otherwise."""

    keyword: ClassVar[str] = ""
    help_text: ClassVar[str] = ""
    answer_unknown: bool = False

    def configure(self, answer_unknown: bool | None = None, **options: Any) -> None:
        super().configure(**options)
        if answer_unknown is not None:
            self.answer_unknown = answer_unknown
        if not self.keyword:
            raise TypeError(f"{self.name} must set `keyword`")
        self._keyword_re = re.compile(
            rf"\s*(?:{self.keyword})(?:[\s,;:.]+(?P<rest>.*?))?\s*", re.IGNORECASE | re.DOTALL
        )
        self._patterns = [
            (getattr(member, _PATTERN_ATTR), name)
            for name, member in _members_in_order(type(self))
            if hasattr(member, _PATTERN_ATTR)
        ]

    @property
    def keywords(self) -> list[str]:
        """The keyword alternatives, for help texts."""
        return [k.upper() for k in self.keyword.split("|")]

    def help(self, msg: IncomingMessage) -> None:
        """Answer a keyword whose arguments match no pattern."""
        msg.respond(self.help_text or f"Send {self.keywords[0]} followed by your request.")

    def handle(self, msg: IncomingMessage) -> bool:
        match = self._keyword_re.fullmatch(msg.text)
        if match is None:
            return False
        rest = match["rest"] or ""
        for regex, method_name in self._patterns:
            args = regex.fullmatch(rest)
            if args is not None:
                getattr(self, method_name)(msg, **args.groupdict())
                return True
        self.help(msg)
        return True

    def default(self, msg: IncomingMessage) -> bool:
        if not self.answer_unknown:
            return False
        apps = self.router.apps if self.router is not None else [self]
        known = [k for app in apps if isinstance(app, KeywordApp) for k in app.keywords]
        msg.respond("Unknown command. Send one of: " + ", ".join(known) + ".")
        return True


def _members_in_order(cls: type) -> list[tuple[str, Any]]:
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            seen.pop(name, None)
            seen[name] = member
    return list(seen.items())
