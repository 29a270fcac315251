"""The shipped apps, in conversation form."""

from __future__ import annotations

from httprouter.apps.keyword import KeywordApp, pattern
from tests.support.conversation import run_conversation


def test_echo_conversation(router):
    run_conversation(
        router,
        """
        +15551234 > ping
        +15551234 < pong
        +15551234 > echo hello there
        +15551234 < hello there
        +15551234 > Habari yako? ñ €
        +15551234 < Habari yako? ñ €
        +15551234 > PING
        +15551234 < pong
    """,
    )


class RegisterApp(KeywordApp):
    keyword = "register|reg|join"
    help_text = "Send REGISTER followed by your name."

    @pattern(r"(?P<name>[a-z]+)")
    def register(self, msg, name):
        msg.respond(f"Thank you, {name}.")

    @pattern(r"(?P<name>.+) (?P<age>\d+)")
    def register_with_age(self, msg, name, age):
        msg.respond(f"Thank you, {name} ({age}).")


class WeatherApp(KeywordApp):
    keyword = "weather"
    answer_unknown = True

    @pattern(r"(?P<town>.+)")
    def forecast(self, msg, town):
        msg.respond(f"Sunny in {town}.")


def keyword_router(make_app):
    router = make_app(SMS_APPS=[]).extensions["httprouter"]
    router.apps = [RegisterApp(router), WeatherApp(router)]
    return router


def test_keyword_dispatch_and_help(make_app):
    run_conversation(
        keyword_router(make_app),
        """
        +2507 > register Ann
        +2507 < Thank you, Ann.
        +2507 > REG Ann Marie 34
        +2507 < Thank you, Ann Marie (34).
        +2507 > join
        +2507 < Send REGISTER followed by your name.
        +2507 > reg 1234
        +2507 < Send REGISTER followed by your name.
        +2507 > weather Kigali
        +2507 < Sunny in Kigali.
        +2507 > registered
        +2507 < Unknown command. Send one of: REGISTER, REG, JOIN, WEATHER.
        +2507 > hello
        +2507 < Unknown command. Send one of: REGISTER, REG, JOIN, WEATHER.
    """,
    )


def test_keyword_app_without_keyword_fails_at_start(make_app):
    import pytest

    class Broken(KeywordApp):
        pass

    with pytest.raises(TypeError, match="keyword"):
        Broken(None)
