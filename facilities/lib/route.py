"""A suggested visiting order for a day's stops (the inspector's day map).

An open path, not a round trip: the inspector starts at ``start`` (the depot, or the first stop)
and ends wherever the last visit is. Nearest neighbour gives a decent first order; 2-opt then
reverses any stretch of the path that makes it shorter, until no reversal helps. A day holds a
few dozen stops at most, so the O(n^2) passes cost nothing, and the answer is deterministic: ties
go to the stop listed first, so the same day always gets the same order.

Distances are geodesic metres on the WGS-84 ellipsoid (``geo.GEOD``), computed once into a
matrix. Pure: no database, no web framework.
"""

from __future__ import annotations

from collections.abc import Sequence

from facilities.lib.geo import GEOD

Point = tuple[float, float]  # (lng, lat), WGS-84 degrees, as GeoJSON orders them

#: A reversal must save more than this (metres) to count: float noise never loops 2-opt.
_GAIN = 1e-6
#: A bound on 2-opt's improvement passes (each pass that improves shortens the path).
_MAX_PASSES = 200


def distance_m(a: Point, b: Point) -> float:
    """Geodesic metres between two (lng, lat) points."""
    if a == b:
        return 0.0
    _fwd, _back, metres = GEOD.inv(a[0], a[1], b[0], b[1])
    return float(metres)


def path_length_m(start: Point | None, stops: Sequence[Point], order: Sequence[int]) -> float:
    """Metres from ``start`` (when given) through ``stops`` in ``order``."""
    points = ([start] if start is not None else []) + [stops[i] for i in order]
    return sum(distance_m(points[i], points[i + 1]) for i in range(len(points) - 1))


def _matrix(points: Sequence[Point]) -> list[list[float]]:
    size = len(points)
    rows = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1, size):
            rows[i][j] = rows[j][i] = distance_m(points[i], points[j])
    return rows


def nearest_neighbour(start: Point | None, stops: Sequence[Point]) -> list[int]:
    """Indexes of ``stops``: from ``start`` (or the first stop), always on to the nearest stop
    not yet visited; the first listed wins a tie."""
    if not stops:
        return []
    points = list(stops) + ([start] if start is not None else [])
    dist = _matrix(points)
    here = len(stops) if start is not None else 0
    order = [] if start is not None else [0]
    left = [i for i in range(len(stops)) if i not in order]
    while left:
        best = min(left, key=lambda i: (dist[here][i], i))
        order.append(best)
        left.remove(best)
        here = best
    return order


def two_opt(start: Point | None, stops: Sequence[Point], order: Sequence[int]) -> list[int]:
    """``order`` improved by reversing stretches of the path while one makes it shorter.

    With a start point every stop may move (the start is fixed); without one the first stop
    stays first (it is where the day starts)."""
    route = list(order)
    if len(route) < 3 and start is None:
        return route
    points = list(stops) + ([start] if start is not None else [])
    dist = _matrix(points)
    # The path as node indexes into ``points``; node 0 of the path never moves.
    path = ([len(stops)] if start is not None else []) + route
    size = len(path)
    for _ in range(_MAX_PASSES):
        improved = False
        for i in range(1, size - 1):
            for j in range(i + 1, size):
                # Reverse path[i..j]: edges (i-1, i) and (j, j+1) become (i-1, j) and (i, j+1).
                before = dist[path[i - 1]][path[i]]
                after = dist[path[i - 1]][path[j]]
                if j + 1 < size:
                    before += dist[path[j]][path[j + 1]]
                    after += dist[path[i]][path[j + 1]]
                if before - after > _GAIN:
                    path[i : j + 1] = reversed(path[i : j + 1])
                    improved = True
        if not improved:
            break
    return path[1:] if start is not None else path


def visiting_order(start: Point | None, stops: Sequence[Point]) -> list[int]:
    """The suggested order (indexes of ``stops``): nearest neighbour, then 2-opt."""
    return two_opt(start, stops, nearest_neighbour(start, stops))
