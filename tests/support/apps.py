"""Small apps the tests plug in."""

from __future__ import annotations

from httprouter.apps import AppBase


class CountingApp(AppBase):
    calls = 0

    def handle(self, msg):
        type(self).calls += 1
        msg.respond("counted")
        return True


class Recorder(AppBase):
    """Records the phases it sees into a shared log; behaviour is set by class attributes."""

    log: list[str] = []
    filter_result = None
    handle_result = None
    default_result = None
    respond_in_handle = None
    raise_in: tuple[str, ...] = ()
    outgoing_result = None

    def _note(self, phase, msg):
        type(self).log.append(f"{self.name}.{phase}")
        if phase in self.raise_in:
            raise RuntimeError(f"{self.name} broke in {phase}")

    def filter(self, msg):
        self._note("filter", msg)
        return self.filter_result

    def parse(self, msg):
        self._note("parse", msg)

    def handle(self, msg):
        self._note("handle", msg)
        if self.respond_in_handle:
            msg.respond(self.respond_in_handle)
        return self.handle_result

    def default(self, msg):
        self._note("default", msg)
        return self.default_result

    def cleanup(self, msg):
        self._note("cleanup", msg)

    def outgoing(self, msg):
        self._note("outgoing", msg)
        return self.outgoing_result


class A(Recorder):
    pass


class B(Recorder):
    pass


class C(Recorder):
    pass


class SendsFromHandler(AppBase):
    """Uses the Python API inside a handler: the send joins the inbound transaction."""

    def handle(self, msg):
        self.router.send("broadcast", [("console", "+1999")])
        msg.respond("done")
        return True


class Registry(AppBase):
    def configure(self, greeting: str = "hello") -> None:
        self.greeting = greeting

    def handle(self, msg):
        msg.respond(self.greeting)
        return True


class SlowTriple(AppBase):
    """Answers three times, slowly, so a killed worker is likely to die mid-request."""

    def handle(self, msg):
        import time

        for n in range(3):
            msg.respond(f"part {n + 1}")
            time.sleep(0.02)
        return True


class CopiesToOperator(AppBase):
    """Replies to the sender, and sends a copy to an operator through the backend `kannel`."""

    def handle(self, msg):
        from httprouter.domain.messages import Connection

        msg.respond("thanks")
        copy = msg.respond(f"copy: {msg.text}")
        copy.connection = Connection("kannel", "+15550000")
        return True
