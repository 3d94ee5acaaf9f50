"""The Ray Serve application on a local Ray cluster (one per module), with real WebSocket clients:
sessions spread over two replicas, each in its own mood; one replica killed, its sessions resumed."""
from __future__ import annotations

import json
import queue
import threading
import time

import pytest

ray = pytest.importorskip("ray")  # the scale extra; CI installs it
from ray import serve  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

import support  # noqa: E402

from moodscore.scale import build  # noqa: E402

MOODS = [(0.9, 0.9), (-0.9, -0.9), (-0.9, 0.9), (0.9, -0.9)]
GRACE = 5.0  # seconds a session waits for its client to come back


@pytest.fixture(scope="module")
def cluster():
    port = support.free_port(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    started = time.monotonic()
    serve.run(build(replicas=2, replica_cpus=0.5, grace=GRACE), name="moodscore", route_prefix="/")
    print(f"\nRay cluster and app up in {time.monotonic() - started:.1f} s")
    yield port
    serve.shutdown()
    ray.shutdown()


class Client:
    def __init__(self, port: int, **session) -> None:
        self.ws = connect(f"ws://127.0.0.1:{port}/", open_timeout=30, max_size=None)
        self.ws.send(json.dumps({"type": "session", **session}))
        self.info = json.loads(self.ws.recv(timeout=60))
        assert self.info["type"] == "session", self.info
        self.events: list[tuple[float, dict]] = []
        self.replies: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for frame in self.ws:
                data = json.loads(frame)
                if data["type"] in ("ack", "error", "stats"):
                    self.replies.put(data)
                else:
                    self.events.append((time.monotonic(), data))
        except Exception:  # noqa: BLE001 - the test closes it
            pass

    def request(self, message: dict) -> dict:
        self.ws.send(json.dumps(message))
        return self.replies.get(timeout=30)

    def of(self, kind: str, since: float = 0.0) -> list[dict]:
        return [e for t, e in self.events if e["type"] == kind and t >= since]


def test_sessions_spread_play_their_moods_and_resume_when_their_replica_dies(cluster):
    port = cluster
    clients: list[Client] = []
    for i in range(12):  # ids hash onto the ring: open until both replicas hold two or more
        clients.append(Client(port, seed=i, model="lstm", transition="immediate"))
        held = {c.info["replica"] for c in clients}
        counts = [sum(c.info["replica"] == r for c in clients) for r in held]
        if len(held) == 2 and min(counts) >= 2:
            break
    assert len(held) == 2, "every session landed on one replica"
    for i, c in enumerate(clients):
        v, a = MOODS[i % 4]
        assert c.request({"type": "subscribe", "events": ["bar", "phrase"]}) == {"type": "ack"}
        assert c.request({"type": "va", "valence": v, "arousal": a, "glide": 0}) == {"type": "ack"}
    support.wait_until(lambda: all(any(p["mood"] == list(MOODS[i % 4]) for p in c.of("phrase"))
                                   for i, c in enumerate(clients)), 60, "a phrase in each session's mood")
    # a client that leaves and comes back with its id lands on the replica holding its session
    clients[0].ws.close()
    time.sleep(0.5)
    again = Client(port, id=clients[0].info["id"])
    assert again.info["resumed"] and again.info["replica"] == clients[0].info["replica"]
    since = time.monotonic()
    support.wait_until(lambda: again.of("bar", since=since), 30, "bars for the session taken up again")
    clients[0] = again

    victim = clients[0].info["replica"]
    on_victim = [i for i, c in enumerate(clients) if c.info["replica"] == victim]
    actors = [a for a in ray.util.list_named_actors(all_namespaces=True) if victim in a["name"]]
    assert actors, f"no actor for replica {victim}"
    killed = time.monotonic()
    ray.kill(ray.get_actor(actors[0]["name"], namespace=actors[0]["namespace"]), no_restart=True)
    for i in on_victim:  # each is resumed elsewhere from its snapshot, in its mood
        c = clients[i]
        resumed = support.wait_until(
            lambda c=c: [e for t, e in c.events if e["type"] == "session" and e.get("resumed") and t > killed],
            60, f"session {i} resumed")
        assert resumed[0]["replica"] != victim
        support.wait_until(lambda c=c: len(c.of("bar", since=killed)) >= 2, 60, f"bars for session {i}")
        first_bar = min(t for t, e in c.events if e["type"] == "bar" and t > killed)
        print(f"session {i}: first bar {first_bar - killed:.2f} s after the kill")
        support.wait_until(lambda c=c, i=i: any(p["mood"] == list(MOODS[i % 4]) for p in c.of("phrase", since=killed)),
                           60, f"a phrase in session {i}'s mood after the resume")
    others = [c for i, c in enumerate(clients) if i not in on_victim]
    since = time.monotonic()
    support.wait_until(lambda: all(c.of("bar", since=since) for c in others), 30, "bars for the others")
    for c in clients:
        c.ws.close()
    # sessions whose clients left for good are closed after the grace time, on every replica
    hosts = serve.get_deployment_handle("SessionHost", app_name="moodscore")

    def left_over() -> list[str]:
        ids = {c.info["id"] for c in clients}
        held = [hosts.options(session_id=sid).sessions.remote().result()["sessions"] for sid in ids]
        return [sid for sessions in held for sid in sessions if sid in ids]

    support.wait_until(lambda: not left_over(), GRACE + 20, "the sessions closed", lambda: str(left_over()))
