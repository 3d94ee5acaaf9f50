"""Many machines: ``moodscore host`` as a Ray Serve application (the ``scale`` extra).

``serve run moodscore.scale:app`` (or ``moodscore scale``) starts a WebSocket ingress
(:mod:`.ingress`) and session-host replicas (:mod:`.hosts`). Sessions stick to a replica by
their id (Serve's consistent-hash router on ``session_id``); replicas scale by session count
(each session's event stream is one ongoing request); a session whose replica dies resumes on
another from its last snapshot. Needs ``pip install ".[scale]"``.

Public API: :func:`build`, ``app``.
"""
from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve.config import AutoscalingConfig, RequestRouterConfig

from .hosts import SessionHost
from .ingress import Ingress

ROUTER = "ray.serve.experimental.consistent_hash_router:ConsistentHashRouter"


def build(*, replicas: int | None = None, min_replicas: int = 1, max_replicas: int = 8,
          sessions_per_replica: int = 200, max_sessions: int = 500, model: str = "abc",
          grace: float = 30.0, replica_cpus: float = 1.0,
          autoscaling: dict[str, Any] | None = None) -> Any:
    """The application: ``replicas`` fixed, else autoscaled on sessions per replica.

    ``autoscaling``: more of Serve's ``AutoscalingConfig`` (``upscale_delay_s``,
    ``downscale_delay_s``, ``metrics_interval_s``, ``look_back_period_s``, ...); Serve's own
    defaults otherwise (up after 30 s, down after 600 s)."""
    scaling: dict[str, Any] = {"num_replicas": replicas} if replicas else {
        "autoscaling_config": AutoscalingConfig(min_replicas=min_replicas, max_replicas=max_replicas,
                                                target_ongoing_requests=sessions_per_replica,
                                                **(autoscaling or {}))}
    hosts: Any = serve.deployment(SessionHost, name="SessionHost", max_ongoing_requests=4 * max_sessions,
                             ray_actor_options={"num_cpus": replica_cpus},
                             request_router_config=RequestRouterConfig(
                                 request_router_class=ROUTER,  # type: ignore[arg-type]
                                 request_router_kwargs={"num_fallback_replicas": 0}),
                             health_check_period_s=2, health_check_timeout_s=10, **scaling)
    ingress: Any = serve.deployment(Ingress, name="Ingress", max_ongoing_requests=4 * max_sessions,
                               ray_actor_options={"num_cpus": 0})
    return ingress.bind(hosts.bind(max_sessions=max_sessions, model=model, grace=grace))


app = build()
