"""Concurrent gateway retries with the same id store one message, on both databases."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from httprouter.store.schema import messages


def test_concurrent_duplicates_are_handled_once(app):
    router = app.extensions["httprouter"]
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        client = app.test_client()
        barrier.wait()
        try:
            r = client.get("/router/receive?backend=kannel&sender=%2B1555&message=ping&id=dup-1")
            results.append((r.status_code, r.get_json()["message"]["id"]))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {code for code, _ in results} == {200}
    assert len({mid for _, mid in results}) == 1
    with router.read() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 2
