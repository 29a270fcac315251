"""A whole conversation through each pull engine, as its phone app makes it: an inbound SMS, the
app's reply, the reply handed to the phone, the phone's confirmation, the delivery result."""

from __future__ import annotations

import json

SECRET = "sync-secret"
TEXT = "echo Habari 😀 & = + %"
REPLY = "Habari 😀 & = + %"


def _history(client, message_id, auth):
    detail = client.get(f"/router/messages/{message_id}", headers=auth).get_json()
    return [(h["cause"], h["new_status"]) for h in detail["history"]], detail["message"]


def test_smssync_conversation(make_app):
    app = make_app(
        ROUTER_PASSWORD="router-pw",
        BACKENDS={"clinic": {"ENGINE": "smssync", "secret": SECRET, "message_results": True}},
    )
    phone = app.test_client()
    url = "/router/backends/clinic/receive"
    sms = {"secret": SECRET, "from": "+255700111222", "message": TEXT, "message_id": "phone-1"}

    answer = phone.post(url, data=sms).get_json()
    assert answer["payload"]["success"] is True
    assert answer["payload"]["messages"] == []  # Results API on: the reply waits for the poll

    polled = phone.get(f"{url}?task=send&secret={SECRET}").get_json()["payload"]
    assert (polled["task"], polled["secret"]) == ("send", SECRET)
    [reply] = polled["messages"]
    assert (reply["to"], reply["message"]) == ("+255700111222", REPLY)
    assert phone.get(f"{url}?task=send&secret={SECRET}").get_json()["payload"]["messages"] == []

    confirmed = phone.post(f"{url}?task=sent", json={"queued_messages": [reply["uuid"]]})
    assert confirmed.get_json() == {"message_uuids": [reply["uuid"]]}

    wanted = phone.get(f"{url}?task=result&secret={SECRET}").get_json()
    assert wanted == {"message_uuids": [reply["uuid"]]}
    result = [
        {
            "uuid": reply["uuid"],
            "sent_result_code": -1,
            "delivered_result_code": -1,
            "delivered_result_message": "SMS delivered",
        }
    ]
    done = phone.post(
        f"{url}?task=result&secret={SECRET}", json={"message_result": json.dumps(result)}
    )
    assert done.get_json() == {"payload": {"success": True, "error": None}}
    assert phone.get(f"{url}?task=result&secret={SECRET}").get_json() == {"message_uuids": []}

    message_id = int(reply["uuid"].split("-", 1)[0])
    history, message = _history(phone, message_id, {"Authorization": "Bearer router-pw"})
    assert history == [
        ("created", "P"),
        ("queued", "Q"),
        ("outbox", "Q"),
        ("report", "S"),
        ("report", "D"),
    ]
    assert (message["text"], message["status"], message["in_response_to"]) == (REPLY, "D", 1)


def test_envayasms_conversation(make_app):
    from ...gateways.envayasms import _sign

    app = make_app(BACKENDS={"hotline": {"ENGINE": "envayasms", "password": "envaya-pw"}})
    phone = app.test_client()
    url = "/router/backends/hotline/receive"
    common = [("version", "30"), ("phone_number", "16505551212"), ("log", "")]

    def post(*fields):
        fields = [*fields, *common]
        signature = _sign(fields, url=f"http://localhost{url}", password="envaya-pw")
        answer = phone.post(url, data=dict(fields), headers={"X-Request-Signature": signature})
        assert (answer.status_code, answer.mimetype) == (200, "application/json")
        return answer.get_json()["events"]

    incoming = [("action", "incoming"), ("from", "+16505551234"), ("message_type", "sms")]
    [event] = post(*incoming, ("message", TEXT), ("timestamp", "1317506831000"))
    [reply] = event["messages"]
    assert (event["event"], reply["to"], reply["message"]) == ("send", "+16505551234", REPLY)
    assert post(("action", "outgoing")) == []  # leased to the answer above

    sent = [("action", "send_status"), ("id", reply["id"]), ("status", "sent"), ("error", "")]
    assert post(*sent) == []
    assert post(*sent) == []  # a repeat is harmless
    history, message = _history(phone, int(reply["id"]), {})
    # EnvayaSMS reports no delivery: its last word on a message is "sent".
    assert history == [
        ("created", "P"),
        ("queued", "Q"),
        ("outbox", "Q"),
        ("report", "S"),
        ("report", "S"),
    ]
    assert (message["text"], message["status"]) == (REPLY, "S")


def test_relayer_conversation(make_app):
    from ...support.console_support import add_user, log_in

    app = make_app(
        ROUTER_PASSWORD="router-pw",
        BACKENDS={"android": {"ENGINE": "relayer", "password": "relay-pw"}},
    )
    phone = app.test_client()
    base = "backend=android&password=relay-pw&"  # as the app's settings build every URL

    sms = "&sender=%2B250788123456&message=echo+Habari+%F0%9F%98%80+%26+%3D+%2B+%25"
    answer = phone.get(f"/router/receive?{base}{sms}").get_json()
    assert answer["message"]["text"] == TEXT
    [reply] = answer["responses"]
    assert (reply["contact"], reply["text"], reply["direction"], reply["status"]) == (
        "250788123456",
        REPLY,
        "O",
        "Q",
    )
    # Polling, the app gets it once more, and skips it: it has that id already.
    [polled] = phone.get(f"/router/outbox?{base}").get_json()["outbox"]
    assert (polled["id"], polled["contact"]) == (reply["id"], "250788123456")
    assert phone.get(f"/router/outbox?{base}").get_json()["outbox"] == []

    done = phone.get(f"/router/delivered?{base}&message_id={reply['id']}")
    assert done.get_json()["status"] == "Message marked as sent."
    history, message = _history(phone, reply["id"], {"Authorization": "Bearer router-pw"})
    assert history == [("created", "P"), ("queued", "Q"), ("outbox", "Q"), ("report", "D")]
    assert (message["contact"], message["status"]) == ("+250788123456", "D")  # stored with +

    # The phone reports trouble; the body repeats its settings, password included.
    alert = phone.post(
        "/router/alert",
        data={
            "password": "relay-pw",
            "subject": "[android] Relayer has no power and battery level at 5%",
            "body": "SMS Relay Version: 0.0.5\n\nBackend:android\nPassword:relay-pw\n",
        },
    )
    assert alert.status_code == 200
    assert alert.get_json()["alert"]["backend"] == "android"
    operator = app.test_client()
    add_user(app)
    log_in(operator)
    page = operator.get("/router/console/queues").get_data(as_text=True)
    assert "Relayer has no power and battery level at 5%" in page
    assert "Password:***" in page and "relay-pw" not in page


def test_relayer_responses_leave_out_replies_through_other_backends(make_app):
    app = make_app(
        SMS_APPS=["tests.support.apps.CopiesToOperator"],
        BACKENDS={"android": {"ENGINE": "relayer"}, "kannel": {"ENGINE": "kannel"}},
    )
    client = app.test_client()
    answer = client.get("/router/receive?backend=android&&sender=%2B250788123456&message=hi")
    # The copy to the operator leaves through Kannel: this phone must not send it too.
    assert [(r["contact"], r["text"]) for r in answer.get_json()["responses"]] == [
        ("250788123456", "thanks")
    ]
    other = client.get("/router/receive?backend=kannel&sender=%2B250788123456&message=hi")
    assert [r["text"] for r in other.get_json()["responses"]] == ["thanks", "copy: hi"]
