"""The Ray Serve application scales its session hosts by session count, on a local Ray cluster
(its own, one per module) with real WebSocket clients.

Autoscaled from one replica to at most two, with a target of two sessions a replica and the
autoscaler's delays cut to seconds: five sessions bring up the second replica while every
session keeps playing; when four of them leave, it goes back to one, and the session that
stays keeps its bars coming (resumed from its snapshot if it sat on the replica that went)."""
from __future__ import annotations

import time

import pytest

ray = pytest.importorskip("ray")  # the scale extra; CI installs it
from ray import serve  # noqa: E402

import support  # noqa: E402
from test_serve_app import Client  # noqa: E402

from moodscore.scale import build  # noqa: E402

GRACE = 5.0
FAST = {"upscale_delay_s": 1.0, "downscale_delay_s": 4.0, "metrics_interval_s": 0.5,
        "look_back_period_s": 2.0}


@pytest.fixture(scope="module")
def autoscaled():
    port = support.free_port(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build(min_replicas=1, max_replicas=2, sessions_per_replica=2, replica_cpus=0.5,
                    grace=GRACE, autoscaling=FAST), name="moodscore", route_prefix="/")
    yield port
    serve.shutdown()
    ray.shutdown()


def running_hosts() -> int:
    deployment = serve.status().applications["moodscore"].deployments["SessionHost"]
    return int(deployment.replica_states.get("RUNNING", 0))


def test_session_hosts_scale_up_and_down_with_the_sessions(autoscaled):
    port = autoscaled
    assert running_hosts() == 1
    clients = []
    for i in range(5):
        c = Client(port, seed=i, model="lstm", transition="immediate")
        assert c.request({"type": "subscribe", "events": ["bar"]}) == {"type": "ack"}
        clients.append(c)
    opened = time.monotonic()
    support.wait_until(lambda: running_hosts() == 2, 90, "a second session host for five sessions",
                       lambda: str(serve.status().applications["moodscore"].deployments["SessionHost"]))
    up = time.monotonic() - opened
    since = time.monotonic()
    support.wait_until(lambda: all(c.of("bar", since=since) for c in clients), 30,
                       "bars in every session after the scale-up")
    # new sessions now land on either replica
    more = [Client(port, seed=10 + i, model="lstm") for i in range(6)]
    assert len({c.info["replica"] for c in clients + more}) == 2, [c.info for c in clients + more]
    for c in more:
        c.ws.close()

    stays = clients[0]
    for c in clients[1:]:
        c.ws.close()
    left = time.monotonic()
    support.wait_until(lambda: running_hosts() == 1, 120, "back to one session host for one session",
                       lambda: str(serve.status().applications["moodscore"].deployments["SessionHost"]))
    down = time.monotonic() - left
    since = time.monotonic()
    support.wait_until(lambda: len(stays.of("bar", since=since)) >= 2, 60,
                       "bars for the session that stayed, after the scale-down")
    resumed = [e for t, e in stays.events if e["type"] == "session" and e.get("resumed") and t > left]
    print(f"\nautoscaling: 1 -> 2 session hosts {up:.1f} s after five sessions opened; 2 -> 1 "
          f"{down:.1f} s after four left; the session that stayed "
          f"{'was resumed on the other replica' if resumed else 'stayed on its replica'}")
    stays.ws.close()
