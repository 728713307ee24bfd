"""Partition a weighted planar graph into connected regions with weights in [lo, hi].

Recursive bisection: a region that must become k grids is cut in two by sweeping a line across
it in several directions, growing one side node by node (so it stays connected) and stopping
where both sides can still be split within the bounds; of those stops, the one with the
cheapest cut wins (cuts along roads are cheap, through compounds dear). A local search then
moves single nodes between neighbouring regions while that lowers the bound violation, or keeps
it and shortens the cuts, never disconnecting a region.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from geo.grids.graph import Graph

ANGLES = np.deg2rad([0.0, 45.0, 90.0, 135.0])
CANDIDATE_STOPS = 8  # stops per sweep tried for a connected remainder
MAX_PASSES = 30


def violation(w: float, lo: float, hi: float) -> float:
    """How far `w` lies outside [lo, hi] (0 inside)."""
    if w < lo:
        return lo - w
    return w - hi if w > hi else 0


def choose_k(total: int, lo: int, hi: int) -> tuple[int, str | None]:
    """Number of regions for `total`: within bounds if possible, else the least violating."""
    if total <= 0:
        return 1, "no households"
    kmin, kmax = max(1, math.ceil(total / hi)), total // lo
    if kmin <= kmax:
        k = round(total / ((lo + hi) / 2))
        return min(max(k, kmin), kmax), None
    options = sorted({kmin, max(kmax, 1)})
    k = min(options, key=lambda k: (k * violation(total / k, lo, hi), k))
    if total < lo:
        return k, f"{total} households, fewer than the minimum {lo}"
    return k, f"{total} households cannot be divided into parts of {lo}–{hi}"


@dataclass
class Problem:
    """Arrays shared by the bisection and the local search."""

    graph: Graph
    weight: np.ndarray
    xy: np.ndarray
    lo: int
    hi: int

    def __post_init__(self) -> None:
        self.member = np.zeros(self.graph.n, dtype=np.int64)
        self.token = 0
        self.adjacency, self.costs = adjacency_lists(self.graph)

    def mark(self, nodes: np.ndarray) -> int:
        self.token += 1
        self.member[nodes] = self.token
        return self.token


def partition(
    graph: Graph, weight: np.ndarray, xy: np.ndarray, *, lo: int, hi: int, k: int | None = None
) -> np.ndarray:
    """Region label (0..k-1) for every node of a connected graph."""
    weight = np.asarray(weight, dtype=np.int64)
    if k is None:
        k, _ = choose_k(int(weight.sum()), lo, hi)
    problem = Problem(graph, weight, np.asarray(xy, dtype=float), lo, hi)
    regions: list[np.ndarray] = []
    _bisect(problem, np.arange(graph.n), k, regions)
    labels = np.empty(graph.n, dtype=np.int64)
    for r, nodes in enumerate(regions):
        labels[nodes] = r
    return refine(problem, labels)


def _bisect(p: Problem, nodes: np.ndarray, k: int, out: list[np.ndarray]) -> None:
    if k <= 1 or len(nodes) <= 1:
        out.append(nodes)
        return
    k1 = k // 2
    k2 = k - k1
    total = int(p.weight[nodes].sum())
    a_lo = max(k1 * p.lo, total - k2 * p.hi)
    a_hi = min(k1 * p.hi, total - k2 * p.lo)
    if a_lo > a_hi:  # infeasible in aggregate: aim for the proportional share
        a_lo = a_hi = total * k1 / k
    best = None
    for angle in ANGLES:
        direction = np.array([math.cos(angle), math.sin(angle)])
        for sign in (1.0, -1.0):
            found = _sweep(p, nodes, sign * direction, a_lo, a_hi, total * k1 / k)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
    side_a = nodes[:1] if best is None else best[1]  # nothing connected: split off one node
    token = p.mark(side_a)
    side_b = nodes[p.member[nodes] != token]
    _bisect(p, side_a, k1, out)
    _bisect(p, side_b, k2, out)


def _sweep(
    p: Problem, nodes: np.ndarray, direction: np.ndarray, a_lo: float, a_hi: float, target: float
):
    """Grow side A along `direction`; return (score, nodes of A) for the best valid stop."""
    token = p.mark(nodes)
    proj = p.xy[nodes] @ direction
    projection = dict(zip(nodes.tolist(), proj.tolist(), strict=True))
    start = int(nodes[int(np.argmin(proj))])
    in_a: set[int] = set()
    queued = {start}
    heap = [(projection[start], start)]
    order: list[int] = []
    weights: list[int] = []
    cuts: list[float] = []
    w, cut = 0, 0.0
    member, nbrs, costs = p.member, p.adjacency, p.costs
    while heap:
        _, v = heapq.heappop(heap)
        in_a.add(v)
        order.append(v)
        w += int(p.weight[v])
        for u, c in zip(nbrs[v], costs[v], strict=True):
            if member[u] != token:
                continue
            if u in in_a:
                cut -= c
            else:
                cut += c
                if u not in queued:
                    queued.add(u)
                    heapq.heappush(heap, (projection[u], u))
        weights.append(w)
        cuts.append(cut)
        if w > a_hi and len(order) > 1 and weights[-2] > a_hi:
            break
    n_a = np.arange(1, len(order) + 1)
    wts = np.asarray(weights, dtype=float)
    cuts_arr = np.asarray(cuts)
    valid = n_a < len(nodes)
    if not valid.any():
        return None
    scale = max(target, 1.0)
    off = np.maximum(0.0, a_lo - wts) + np.maximum(0.0, wts - a_hi)
    score = off / scale * 1e6 + cuts_arr + np.abs(wts - target) / scale * 1e-3
    score[~valid] = np.inf
    order_arr = np.asarray(order)
    for s in np.argsort(score, kind="stable")[:CANDIDATE_STOPS]:
        if not np.isfinite(score[s]):
            break
        side_a = _absorb_islands(p, nodes, order_arr[: s + 1])
        if side_a is None:
            continue
        wa = float(p.weight[side_a].sum())
        off_a = violation(wa, a_lo, a_hi) if a_lo < a_hi else abs(wa - a_lo)
        cut_a = _cut_cost(p, nodes, side_a)
        return off_a / scale * 1e6 + cut_a + abs(wa - target) / scale * 1e-3, side_a
    return None


def _absorb_islands(p: Problem, nodes: np.ndarray, side_a: np.ndarray) -> np.ndarray | None:
    """Side A plus every piece of the remainder cut off from its heaviest piece."""
    token_a = p.mark(side_a)
    rest = nodes[p.member[nodes] != token_a]
    if len(rest) == 0:
        return None
    labels = _labels(p, rest)
    if labels.max() == 0:
        return side_a
    keep = int(np.argmax(np.bincount(labels, weights=p.weight[rest].astype(float) + 1e-6)))
    return np.concatenate([side_a, rest[labels != keep]])


def _labels(p: Problem, nodes: np.ndarray) -> np.ndarray:
    """Connected-component number of each of `nodes` within the graph they induce."""
    token = p.mark(nodes)
    member, nbrs = p.member, p.adjacency
    index = {v: i for i, v in enumerate(nodes.tolist())}
    labels = [-1] * len(nodes)
    current = 0
    for start in range(len(nodes)):
        if labels[start] >= 0:
            continue
        labels[start] = current
        stack = [int(nodes[start])]
        while stack:
            v = stack.pop()
            for u in nbrs[v]:
                if member[u] == token and labels[index[u]] < 0:
                    labels[index[u]] = current
                    stack.append(u)
        current += 1
    return np.asarray(labels, dtype=np.int64)


def _cut_cost(p: Problem, nodes: np.ndarray, side_a: np.ndarray) -> float:
    g = p.graph
    token_all = p.mark(nodes)
    inside = p.member == token_all
    in_a = np.zeros(g.n, dtype=bool)
    in_a[side_a] = True
    total = 0.0
    for v in side_a:
        sl = g.edge_slice(int(v))
        u = g.indices[sl]
        crossing = inside[u] & ~in_a[u]
        total += float(g.cost[sl][crossing].sum())
    return total


def adjacency_lists(g: Graph) -> tuple[list[list[int]], list[list[float]]]:
    """Neighbours and edge costs of every node as Python lists (fast to loop over)."""
    indices, cost = g.indices.tolist(), g.cost.tolist()
    bounds = g.indptr.tolist()
    nbrs = [indices[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    costs = [cost[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return nbrs, costs


def refine(p: Problem, labels: np.ndarray, *, max_passes: int = MAX_PASSES) -> np.ndarray:
    """Move single nodes between neighbouring regions while the layer improves."""
    g = p.graph
    nbrs, costs = p.adjacency, p.costs
    label = labels.tolist()
    k = max(label) + 1
    weight = p.weight.tolist()
    totals = np.bincount(labels, weights=p.weight, minlength=k).astype(np.int64).tolist()
    sizes = np.bincount(labels, minlength=k).tolist()
    lo, hi = p.lo, p.hi
    rows = np.repeat(np.arange(g.n), np.diff(g.indptr))
    for _ in range(max_passes):
        arr = np.asarray(label)
        boundary = np.unique(rows[arr[rows] != arr[g.indices]]).tolist()
        moved = 0
        for v in boundary:
            a = label[v]
            if sizes[a] == 1:
                continue
            to = {}
            for u, c in zip(nbrs[v], costs[v], strict=True):
                lu = label[u]
                to[lu] = to.get(lu, 0.0) + c
            to_a = to.pop(a, 0.0)
            if not to:
                continue
            w = weight[v]
            wa = totals[a]
            base_a = violation(wa, lo, hi)
            after_a = violation(wa - w, lo, hi)
            best_b, best_gain = -1, (0.0, 0.0)
            for b in sorted(to):
                wb = totals[b]
                dv = after_a + violation(wb + w, lo, hi) - base_a - violation(wb, lo, hi)
                dc = to_a - to[b]
                gain = (-dv, -dc)
                if gain > best_gain and (dv < 0 or (dv == 0 and dc < -1e-9)):
                    best_b, best_gain = b, gain
            if best_b < 0 or not _stays_connected(nbrs, label, v):
                continue
            label[v] = best_b
            totals[a] -= w
            totals[best_b] += w
            sizes[a] -= 1
            sizes[best_b] += 1
            moved += 1
        if moved == 0:
            break
    return np.asarray(label, dtype=np.int64)


def _stays_connected(nbrs: list[list[int]], label: list[int], v: int) -> bool:
    """Whether v's region stays connected without v."""
    a = label[v]
    same = [u for u in nbrs[v] if label[u] == a]
    if len(same) <= 1:
        return True
    seen = {v, same[0]}
    stack = [same[0]]
    targets = set(same[1:])
    while stack and targets:
        x = stack.pop()
        for u in nbrs[x]:
            if u not in seen and label[u] == a:
                seen.add(u)
                targets.discard(u)
                stack.append(u)
    return not targets


def unavoidable(weight: np.ndarray, hi: int) -> float:
    """The violation no labelling avoids: nodes heavier than the maximum, each somewhere."""
    return float(np.maximum(np.asarray(weight, dtype=float) - hi, 0).sum())


def score(graph: Graph, weight: np.ndarray, labels: np.ndarray, lo: int, hi: int):
    """(total bound violation, total cut cost) of a labelling; lower is better."""
    weights = np.bincount(labels, weights=weight)
    v = float(sum(violation(w, lo, hi) for w in weights))
    rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
    cut = labels[rows] != labels[graph.indices]
    return v, float(graph.cost[cut].sum()) / 2


# -- chains: cut an ordering of the nodes into consecutive, connected pieces -------------------


def hilbert_keys(xy: np.ndarray, *, order: int = 16) -> np.ndarray:
    """Position of each point along a Hilbert curve over the points' bounding box."""
    xy = np.asarray(xy, dtype=float)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9)
    side = 2**order
    q = np.minimum(((xy - xy.min(axis=0)) / span * (side - 1)).astype(np.int64), side - 1)
    x, y = q[:, 0].copy(), q[:, 1].copy()
    d = np.zeros(len(xy), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ~ry
        swap_x = np.where(flip & rx, s - 1 - x, x)
        swap_y = np.where(flip & rx, s - 1 - y, y)
        x = np.where(flip, swap_y, swap_x)
        y = np.where(flip, swap_x, swap_y)
        s //= 2
    return d


def node_orders(xy: np.ndarray) -> list[np.ndarray]:
    """Orderings to cut into chains: Hilbert curves in the four rotations."""
    xy = np.asarray(xy, dtype=float)
    centred = xy - xy.mean(axis=0)
    orders = []
    for rot in range(4):
        angle = rot * math.pi / 2
        c, s = math.cos(angle), math.sin(angle)
        turned = centred @ np.array([[c, -s], [s, c]])
        orders.append(np.argsort(hilbert_keys(turned), kind="stable"))
    return orders


def chain_partition(
    graph: Graph, weight: np.ndarray, xy: np.ndarray, *, lo: int, hi: int
) -> tuple[np.ndarray, float, float]:
    """Best cut of the Hilbert orderings into connected chunks with weights in [lo, hi].

    Dynamic programming over each ordering: among all cuts into consecutive chunks that are
    connected in the graph, the one with the least bound violation, then the least cut cost.
    Returns (labels, violation, cost).
    """
    weight = np.asarray(weight, dtype=np.int64)
    best = None
    for order in node_orders(xy):
        found = _chain_dp(graph, weight, order, lo, hi)
        if found is not None and (best is None or found[1:] < best[1:]):
            best = found
    if best is None:
        return np.zeros(graph.n, dtype=np.int64), float(violation(weight.sum(), lo, hi)), 0.0
    return best


def _chain_dp(graph: Graph, weight: np.ndarray, order: np.ndarray, lo: int, hi: int):
    n = len(order)
    w = weight[order]
    prefix = np.concatenate([[0], np.cumsum(w)])
    slack = int(w.max()) if n else 0
    position = np.empty(graph.n, dtype=np.int64)
    position[order] = np.arange(n)
    # neighbours and edge costs of each node, by position in the ordering
    nbrs, costs = adjacency_lists(graph)
    pos = position.tolist()
    nbr_pos = [[pos[u] for u in nbrs[v]] for v in order.tolist()]
    nbr_cost = [costs[v] for v in order.tolist()]
    prefix = prefix.tolist()
    parent = list(range(n))
    inf = (math.inf, math.inf)
    best: list[tuple[float, float]] = [inf] * (n + 1)
    back = np.full(n + 1, -1, dtype=np.int64)
    best[0] = (0.0, 0.0)
    for i in range(1, n + 1):
        # grow the chunk (j, i] leftwards, keeping its components and cut cost up to date
        pieces = 0
        boundary = 0.0
        for j in range(i - 1, -1, -1):
            total = int(prefix[i] - prefix[j])
            if total > hi + slack and j < i - 1:
                break
            parent[j] = j
            pieces += 1
            for q, c in zip(nbr_pos[j], nbr_cost[j], strict=True):
                if j < q < i:
                    boundary -= c
                    ra, rb = _find(parent, j), _find(parent, q)
                    if ra != rb:
                        parent[ra] = rb
                        pieces -= 1
                else:
                    boundary += c
            if pieces != 1 or best[j][0] == math.inf:
                continue
            if total < lo - slack and j < i - 1:
                continue
            value = (best[j][0] + violation(total, lo, hi), best[j][1] + boundary)
            if value < best[i]:
                best[i] = value
                back[i] = j
    if best[n][0] == math.inf:
        return None
    labels = np.empty(graph.n, dtype=np.int64)
    i, r = n, 0
    while i > 0:
        j = int(back[i])
        labels[order[j:i]] = r
        i, r = j, r + 1
    labels = r - 1 - labels  # number chunks along the ordering
    return labels, best[n][0], best[n][1]


def _find(parent: list[int], x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


# -- repair: merge a region that misses the bounds with its neighbours and divide them again ---


def repair(p: Problem, labels: np.ndarray, *, rounds: int = 50) -> np.ndarray:
    """Re-divide each out-of-bounds region together with one or two neighbouring regions.

    For a region outside the bounds, the union with a neighbour (or two) is divided afresh, by
    bisection and by chains, and the result is kept when it lowers the violation of those
    regions. Stops when nothing out of bounds can be improved.
    """
    from geo.grids.graph import subgraph

    labels = labels.copy()
    lo, hi = p.lo, p.hi
    rows = np.repeat(np.arange(p.graph.n), np.diff(p.graph.indptr))
    for _ in range(rounds):
        totals = np.bincount(labels, weights=p.weight)
        heaviest = np.zeros(len(totals))
        np.maximum.at(heaviest, labels, p.weight)
        bad = [
            r
            for r in np.argsort(-np.abs(totals - (lo + hi) / 2))
            if violation(totals[r], lo, hi) > max(0.0, heaviest[r] - hi)  # else unavoidable
        ]
        if not bad:
            break
        touching = labels[rows] != labels[p.graph.indices]
        pairs = {
            (int(a), int(b))
            for a, b in zip(labels[rows][touching], labels[p.graph.indices][touching], strict=True)
        }
        improved = False
        for a in bad:
            nbrs = sorted({b for x, b in pairs if x == a}, key=lambda r: -totals[r])
            combos = [(b,) for b in nbrs] + [
                (b, c) for i, b in enumerate(nbrs) for c in nbrs[i + 1 :]
            ]
            for combo in combos:
                regions = (int(a), *combo)
                nodes = np.flatnonzero(np.isin(labels, regions))
                before = sum(violation(totals[r], lo, hi) for r in regions)
                sub = subgraph(p.graph, nodes)
                w = p.weight[nodes]
                k = len(regions)
                options = [partition(sub, w, p.xy[nodes], lo=lo, hi=hi, k=k)]
                chained, _, _ = chain_partition(sub, w, p.xy[nodes], lo=lo, hi=hi)
                options.append(chained)
                best = min(options, key=lambda lab: score(sub, w, lab, lo, hi))
                after = score(sub, w, best, lo, hi)[0]
                if after < before - 1e-9:
                    fresh = labels.max() + 1 + best
                    labels[nodes] = fresh
                    improved = True
                    break
            if improved:
                break
        if not improved:
            break
    _, labels = np.unique(labels, return_inverse=True)
    return labels.astype(np.int64)
