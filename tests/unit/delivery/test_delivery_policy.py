"""The dispatcher's outcome policy, alone: finished sends → status changes and attempt rows.
No database, no threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httprouter.delivery.policy import Finished, batches, decide
from httprouter.gateways.base import Outcome, SendResult

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def send(result, attempt=1, max_attempts=3, message_id=7):
    return Finished(
        message_id=message_id,
        backend="gw",
        attempt=attempt,
        max_attempts=max_attempts,
        backoff=lambda n, retry_after: retry_after if retry_after is not None else 10.0 * n,
        result=result,
        request="POST http://gw/send",
        started=T0,
        finished=T0 + timedelta(seconds=1),
    )


def test_an_accepted_send_is_sent_and_keeps_the_gateways_id():
    decision = decide([send(SendResult(Outcome.SENT, 200, "ok", external_id="abc"))], "w1")
    (change,) = decision.changes
    assert (change.message_id, change.new, change.cause) == (7, "S", "pushed")
    assert change.values == {"error": None, "next_attempt_at": None}
    assert decision.sent == [7]
    assert decision.named == [{"message_id": 7, "gateway_id": "abc"}]
    (row,) = decision.attempts
    assert (row["number"], row["outcome"], row["worker"], row["response_status"]) == (
        1,
        "sent",
        "w1",
        200,
    )


def test_a_retryable_failure_is_errored_with_the_next_attempt_after_the_backoff():
    decision = decide([send(SendResult(Outcome.RETRY, 503, "busy", error="HTTP 503"), 2)], "w1")
    (change,) = decision.changes
    assert change.new == "E"
    assert change.values == {"error": "HTTP 503", "next_attempt_at": T0 + timedelta(seconds=21)}
    assert change.detail["retry_in"] == 20.0
    assert decision.sent == [] and decision.named == []


def test_retry_after_wins_over_the_backoff():
    result = SendResult(Outcome.RETRY, 429, "", error="HTTP 429", retry_after=7.0)
    (change,) = decide([send(result)], "w1").changes
    assert change.values["next_attempt_at"] == T0 + timedelta(seconds=8)


def test_the_last_attempt_fails_instead_of_retrying():
    decision = decide([send(SendResult(Outcome.RETRY, 500, "", error="HTTP 500"), 3, 3)], "w1")
    assert decision.changes[0].new == "F"
    assert decision.outcomes == [Outcome.FAILED]
    assert decision.attempts[0]["outcome"] == "failed"


def test_a_permanent_answer_fails_at_once():
    decision = decide([send(SendResult(Outcome.FAILED, 403, "no", error="HTTP 403"))], "w1")
    assert decision.changes[0].new == "F"
    assert decision.changes[0].values == {"error": "HTTP 403", "next_attempt_at": None}


def test_a_batch_keeps_its_order():
    sends = [
        send(SendResult(Outcome.SENT, 200), message_id=1),
        send(SendResult(Outcome.RETRY, 500, error="x"), message_id=2),
        send(SendResult(Outcome.FAILED, 400, error="y"), message_id=3),
    ]
    decision = decide(sends, "w1")
    assert [(c.message_id, c.new) for c in decision.changes] == [(1, "S"), (2, "E"), (3, "F")]
    assert [a["message_id"] for a in decision.attempts] == [1, 2, 3]
    assert decision.sent == [1]


def _batches(items, limit):
    return batches(items, key=lambda m: m[0], recipient=lambda m: m[1], limit=lambda m: limit)


def test_one_text_to_many_recipients_is_one_request_up_to_the_engines_limit():
    items = [("hi", "+1"), ("hi", "+2"), ("bye", "+1"), ("hi", "+3"), ("hi", "+4")]
    assert _batches(items, 3) == [
        [("hi", "+1"), ("hi", "+2"), ("hi", "+3")],
        [("bye", "+1")],
        [("hi", "+4")],
    ]


def test_an_engine_that_takes_one_recipient_gets_every_message_alone():
    items = [("hi", "+1"), ("hi", "+2")]
    assert _batches(items, 1) == [[("hi", "+1")], [("hi", "+2")]]


def test_a_recipient_is_never_twice_in_one_request():
    items = [("hi", "+1"), ("hi", "+1"), ("hi", "+2")]
    assert _batches(items, 10) == [[("hi", "+1")], [("hi", "+1"), ("hi", "+2")]]


def test_one_request_for_many_recipients_is_decided_per_recipient():
    sent = SendResult(Outcome.SENT, 202, "{}", external_id="7")
    failed = SendResult(Outcome.RETRY, 202, "{}", error="RESULT_ERROR_GENERIC_FAILURE")
    decision = decide(
        [send(sent, message_id=7), send(failed, message_id=8), send(failed, 3, message_id=9)],
        "w1",
    )
    assert [c.new for c in decision.changes] == ["S", "E", "F"]
    assert decision.sent == [7]
    assert decision.named == [{"message_id": 7, "gateway_id": "7"}]
