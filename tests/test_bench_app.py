"""The benchmark's reference route exists only in the app the benchmark serves."""

from __future__ import annotations

from bench.constant_app import create_app as create_bench_app
from tests.kit.clients import client_for_app


def _paths(application) -> set[str]:
    return {route.path for route in application.routes}


async def test_the_product_has_no_bench_route(app, anon):
    assert not any(path.startswith("/bench") for path in _paths(app))
    assert (await anon.get("/bench/constant")).status_code == 404


async def test_the_bench_app_answers_its_constant_through_the_same_middleware(
    app, settings, monkeypatch
):
    for name, value in {
        "FACILITIES_DATABASE_URL": settings.database_url,
        "FACILITIES_SECRET_KEY": settings.secret_key,
        "FACILITIES_SCHEDULER_EMBEDDED": "false",
    }.items():
        monkeypatch.setenv(name, value)
    bench_app = create_bench_app()
    assert _paths(bench_app) - _paths(app) == {"/bench/constant"}
    async with client_for_app(bench_app) as client:
        response = await client.get("/bench/constant")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response.headers["x-content-type-options"] == "nosniff"  # the app's own headers
