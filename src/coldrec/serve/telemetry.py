"""Request counters and latencies of one app (Prometheus, its own registry, no globals)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["RECOMMEND_ROUTES", "MeasureMiddleware", "Telemetry"]

#: routes whose latency the live counters report
RECOMMEND_ROUTES = ("/recommend/{user_id}", "/recommend", "/recommend/{user_id}/new-arrivals",
                    "/items/{item_id}/similar", "/search")


class Telemetry:
    """Prometheus counters of one app (its own registry, no process globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("coldrec_requests_total", "HTTP requests",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("coldrec_request_seconds", "request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, 1, 5))
        self.events = Counter("coldrec_events_total", "events stored", registry=self.registry)
        # the last minutes, for the live counters of the metrics view
        self.recent: deque[tuple[float, str, float]] = deque(maxlen=20_000)
        self.event_times: deque[tuple[float, int]] = deque(maxlen=20_000)

    def count_events(self, n: int) -> None:
        self.events.inc(n)
        self.event_times.append((time.time(), n))

    def live(self, window_s: float = 60.0) -> dict[str, Any]:
        """Events and requests in the last ``window_s`` seconds, recommendation latency."""
        now = time.time()
        events = sum(n for t, n in list(self.event_times) if now - t <= window_s)
        recent = [(route, s) for t, route, s in list(self.recent) if now - t <= window_s]
        lat = np.asarray([s for route, s in recent if route in RECOMMEND_ROUTES]) * 1000
        return {"window_s": window_s, "events": events, "requests": len(recent),
                "recommendations": len(lat),
                "latency_ms": {"p50": float(np.percentile(lat, 50)) if len(lat) else None,
                               "p95": float(np.percentile(lat, 95)) if len(lat) else None}}


class MeasureMiddleware:
    """Pure ASGI middleware: count requests by route template and status, time them."""

    def __init__(self, app: Any, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = route.path_format if route is not None else "unmatched"
            seconds = time.perf_counter() - start
            self.telemetry.requests.labels(name, str(status)).inc()
            self.telemetry.latency.labels(name).observe(seconds)
            self.telemetry.recent.append((time.time(), name, seconds))
