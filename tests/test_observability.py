"""Request ids, metrics and structured logs."""

import json
import logging

from facilities.web.observability import JsonFormatter, RequestIdFilter, request_id
from tests.kit.assets import make_asset


async def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(anon):
    fresh = await anon.get("/")
    assert len(fresh.headers["X-Request-ID"]) == 16
    kept = await anon.get("/", headers={"X-Request-ID": "lb-1234567890"})
    assert kept.headers["X-Request-ID"] == "lb-1234567890"
    replaced = await anon.get("/", headers={"X-Request-ID": "bad id\\n<script>"})
    assert replaced.headers["X-Request-ID"] != "bad id\\n<script>"


async def test_metrics_count_requests_and_read_the_database(anon, personas):
    await make_asset()
    await anon.get("/")
    await anon.get("/nowhere")
    metrics = await anon.get("/metrics")  # the test client is on loopback
    assert metrics.status_code == 200
    text = metrics.text
    assert 'facilities_http_requests_total{method="GET",route="/",status="200"}' in text
    assert 'status="404"' in text
    assert "facilities_open_tickets 0" in text
    assert "facilities_closures_in_force 0" in text
    assert text.count("# TYPE facilities_outbox_messages gauge") <= 1


async def test_metrics_are_not_public_from_another_address(app):
    import httpx

    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/metrics")
    assert response.status_code == 403


def test_json_logs_carry_the_request_id():
    record = logging.LogRecord("facilities", logging.INFO, __file__, 1, "saved %s", ("x",), None)
    token = request_id.set("abc123abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "saved x"
    assert entry["request_id"] == "abc123abc123"
    assert entry["level"] == "INFO"
