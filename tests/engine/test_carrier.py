"""Both carrier clients over real HTTP against the loopback stub."""

from __future__ import annotations

import asyncio

import pytest

from engine.carrier import HttpCarrierClient, InProcessCarrier, tracking_for
from tests.conftest import free_port


def test_tracking_is_deterministic() -> None:
    assert tracking_for("TRK0000000001") == tracking_for("TRK0000000001")
    assert {tracking_for("TRK%010d" % i).status for i in range(50)} > {"in transit"}


@pytest.mark.parametrize("pooling", [False, True])
def test_sync_and_async_clients_agree_with_the_carrier(carrier_url: str, pooling: bool) -> None:
    client = HttpCarrierClient(carrier_url, 2.0, pooling)
    ids = ["TRK%010d" % i for i in range(5)]
    sync = [client.track(i) for i in ids]
    sync_again = [client.track(i) for i in ids]  # reuses the keep-alive socket when pooling

    async def run() -> list:
        out = [await client.atrack(i) for i in ids]
        await client.aclose()
        return out

    assert sync == sync_again == asyncio.run(run()) == [tracking_for(i) for i in ids]
    assert asyncio.run(InProcessCarrier().atrack(ids[0])) == tracking_for(ids[0])


def test_unreachable_carrier_is_a_failed_tracking_not_an_exception() -> None:
    client = HttpCarrierClient("http://127.0.0.1:%d" % free_port(), 0.5, True)
    t = client.track("TRK0000000001")
    assert not t.ok and "unreachable" in (t.error or "")

    async def run() -> bool:
        try:
            return (await client.atrack("TRK0000000001")).ok
        finally:
            await client.aclose()

    assert asyncio.run(run()) is False


def test_rejects_non_http_urls() -> None:
    with pytest.raises(ValueError):
        HttpCarrierClient("ftp://example", 1.0, False)
