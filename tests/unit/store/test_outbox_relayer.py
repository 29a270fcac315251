"""What an Android relayer does: post an inbound SMS, poll the reply, send it, report back."""

from __future__ import annotations

PASSWORD = "relay-secret"


def test_receive_outbox_delivered_round_trip(make_app):
    app = make_app(ROUTER_PASSWORD=PASSWORD)
    phone = app.test_client()
    auth = {"Authorization": f"Bearer {PASSWORD}"}

    r = phone.post(
        "/router/receive",
        data={"backend": "android", "sender": "+250 788 123 456", "message": "echo ping ✓"},
        headers=auth,
    )
    assert r.status_code == 200
    inbound_id = r.get_json()["message"]["id"]

    outbox = phone.get("/router/outbox?backend=Android&limit=10", headers=auth).get_json()
    [reply] = outbox["outbox"]
    assert (reply["contact"], reply["text"], reply["in_response_to"]) == (
        "+250788123456",
        "ping ✓",
        inbound_id,
    )
    assert phone.get("/router/outbox?backend=android", headers=auth).get_json()["outbox"] == []

    # the phone handed it to the network, then the network said it arrived
    sent = phone.get(f"/router/delivered?message_id={reply['id']}&status=sent", headers=auth)
    assert sent.get_json()["message"]["status"] == "S"
    done = phone.post("/router/delivered", json=[{"message_id": reply["id"]}], headers=auth)
    assert done.get_json()["results"][0]["status"] == "D"

    detail = phone.get(f"/router/messages/{reply['id']}", headers=auth).get_json()
    assert [(h["cause"], h["new_status"]) for h in detail["history"]] == [
        ("created", "P"),
        ("queued", "Q"),
        ("outbox", "Q"),
        ("report", "S"),
        ("report", "D"),
    ]
    assert detail["message"]["sent"] and detail["message"]["delivered"]
    assert detail["in_response_to"]["id"] == inbound_id
    status = phone.get("/router/status").get_data(as_text=True)
    assert status == "STATUS: OK\nPENDING: 0\n"
