"""A graph of containers and the routes between them, validated before it runs.

Ports are named ``"container.port"``. Every error names the containers and
ports involved::

    topo = Topology("demo")
    topo.add(source, strategy, portfolio)
    topo.pipe("source.bars", "strategy.bars")
    topo.broadcast("strategy.signals", ["portfolio_a.signals", "portfolio_b.signals"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import TopologyError
from ..routes import (
    Broadcast,
    Filter,
    InputPort,
    Merge,
    OutputPort,
    Partition,
    Pipe,
    Route,
)
from .container import Container

__all__ = ("Topology",)

Endpoint = str | OutputPort | InputPort


class Topology:
    """Containers plus routes; :meth:`validate` before running."""

    def __init__(self, name: str = "topology") -> None:
        self.name = name
        self.containers: dict[str, Container] = {}
        self.routes: list[Route] = []

    def add(self, *containers: Container) -> Topology:
        for container in containers:
            if container.name in self.containers:
                raise TopologyError(
                    f"topology {self.name!r}: two containers are named {container.name!r}")
            self.containers[container.name] = container
        return self

    def __getitem__(self, name: str) -> Container:
        return self.containers[name]

    # -- routes ----------------------------------------------------------------

    def pipe(self, src: Endpoint, dst: Endpoint, **options: Any) -> Route:
        """One output to one input."""
        return self._connect(Pipe, [src], [dst], options)

    def broadcast(self, src: Endpoint, dsts: Sequence[Endpoint], **options: Any) -> Route:
        """One output to every one of ``dsts``."""
        return self._connect(Broadcast, [src], dsts, options)

    def filter(self, src: Endpoint, dst: Endpoint, **options: Any) -> Route:
        """One output to one input, only messages matching ``predicate=`` or ``symbols=``."""
        return self._connect(Filter, [src], [dst], options)

    def partition(self, src: Endpoint, dsts: Sequence[Endpoint], **options: Any) -> Route:
        """One output to N inputs, each message to one of them by ``key=``."""
        return self._connect(Partition, [src], dsts, options)

    def merge(self, srcs: Sequence[Endpoint], dst: Endpoint, **options: Any) -> Route:
        """N outputs into one input, ordered by event time, sequence, source."""
        return self._connect(Merge, srcs, [dst], options)

    def _connect(self, kind: type[Route], srcs: Sequence[Endpoint], dsts: Sequence[Endpoint],
                 options: dict[str, Any]) -> Route:
        if not srcs or not dsts:
            raise TopologyError(f"a {kind.kind} route needs at least one source and one destination")
        producers = [self._output(s) for s in srcs]
        consumers = [self._input(d) for d in dsts]
        if "type" in options:
            options["type_"] = options.pop("type")
        try:
            route = kind(producers, consumers, **options)
        except (ValueError, TypeError) as exc:
            raise TopologyError(f"{kind.kind} route {srcs!r} -> {dsts!r}: {exc}") from exc
        mismatch = route.type_mismatch()
        if mismatch:
            raise TopologyError(mismatch)
        for consumer in consumers:
            feeding = self._route_into(consumer)
            if feeding is not None:
                raise TopologyError(
                    f"input {consumer.address} is already fed by {feeding.name!r}; "
                    f"use one merge route to bring several outputs into one input")
        self.routes.append(route)
        return route

    def _route_into(self, port: InputPort) -> Route | None:
        return next((r for r in self.routes if any(c is port for c in r.consumers)), None)

    def _resolve(self, endpoint: Endpoint, direction: str) -> OutputPort | InputPort:
        if not isinstance(endpoint, str):
            return endpoint
        owner, dot, port = endpoint.partition(".")
        if not dot:
            raise TopologyError(f"port {endpoint!r} must be written 'container.port'")
        container = self.containers.get(owner)
        if container is None:
            known = ", ".join(sorted(self.containers)) or "none"
            raise TopologyError(f"unknown container {owner!r} in {endpoint!r} (known: {known})")
        ports = container.outputs if direction == "output" else container.inputs
        if port not in ports:
            known = ", ".join(sorted(ports)) or "none"
            raise TopologyError(
                f"container {owner!r} has no {direction} port {port!r} ({direction}s: {known})")
        return ports[port]

    def _output(self, endpoint: Endpoint) -> OutputPort:
        port = self._resolve(endpoint, "output")
        if not isinstance(port, OutputPort):
            raise TopologyError(f"{port.address} is an input; a route starts at an output")
        self._check_member(port.owner, port.address)
        return port

    def _input(self, endpoint: Endpoint) -> InputPort:
        port = self._resolve(endpoint, "input")
        if not isinstance(port, InputPort):
            raise TopologyError(f"{port.address} is an output; a route ends at an input")
        self._check_member(port.owner, port.address)
        return port

    def _check_member(self, owner: str, address: str) -> None:
        if owner not in self.containers:
            raise TopologyError(f"port {address} belongs to a container not in topology {self.name!r}")

    # -- validation ------------------------------------------------------------

    def validate(self) -> list[Container]:
        """Check the whole graph; return the containers in topological order
        (sources first, ties broken by insertion order)."""
        for route in self.routes:
            mismatch = route.type_mismatch()
            if mismatch:
                raise TopologyError(mismatch)
        for container in self.containers.values():
            for port in container.inputs.values():
                if port.required and self._route_into(port) is None:
                    raise TopologyError(
                        f"required input {port.address} is not connected to any output")
        return self._order()

    def _edges(self) -> dict[str, list[str]]:
        edges: dict[str, list[str]] = {name: [] for name in self.containers}
        for route in self.routes:
            if route.feedback:
                continue
            for producer in route.producers:
                for consumer in route.consumers:
                    if consumer.owner not in edges[producer.owner]:
                        edges[producer.owner].append(consumer.owner)
        return edges

    def _order(self) -> list[Container]:
        edges = self._edges()
        indegree = dict.fromkeys(edges, 0)
        for targets in edges.values():
            for target in targets:
                indegree[target] += 1
        ready = [name for name in edges if indegree[name] == 0]
        order: list[str] = []
        while ready:
            name = ready.pop(0)
            order.append(name)
            for target in edges[name]:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        if len(order) < len(edges):
            cycle = _find_cycle(edges, [n for n in edges if n not in order])
            raise TopologyError(
                f"topology {self.name!r} has a cycle: {' -> '.join(cycle)}; "
                f"mark one of its routes feedback=True if the loop is intended")
        return [self.containers[name] for name in order]


def _find_cycle(edges: dict[str, list[str]], candidates: list[str]) -> list[str]:
    """One cycle among ``candidates``, the nodes a topological sort left over.

    Each of them still has a predecessor among them, so walking predecessors
    must revisit a node; the walk from that node is the cycle.
    """
    remaining = set(candidates)
    preds = {n: [m for m in candidates if n in edges[m]] for n in candidates}
    walk = [candidates[0]]
    while True:
        prev = next(p for p in preds[walk[-1]] if p in remaining)
        if prev in walk:
            cycle = walk[walk.index(prev):]
            cycle.reverse()
            first = min(range(len(cycle)), key=lambda i: candidates.index(cycle[i]))
            cycle = cycle[first:] + cycle[:first]  # start at the earliest-added container
            return cycle + [cycle[0]]
        walk.append(prev)
