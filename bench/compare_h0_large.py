#!/usr/bin/env python3
"""Times H0 of large 3-D clouds: topolatent's Euclidean MST beside mlpack's EMST, scipy and gudhi, in one run.

One command reruns the whole comparison (from the repository root, after building bench_euclidean_mst):

    python3 bench/compare_h0_large.py --build build-s1 --out bench/results/h0_large_DATE.md

For each size (10^5, 10^6) and cloud (uniform in [0, 1]^3; clustered: 200 Gaussian blobs of spreads 0.01-0.04
around uniform centres), written once as float32 .npy, the tools run as separate processes, one after the other
within each of --repeats rounds (so that the machine's load falls on all of them alike), and the medians are
reported with their ratios to ours:
  * ours: bench_euclidean_mst (topology::euclidean_mst, Boruvka over a k-d tree, float32), on the machine's
    threads (OpenMP) and on one thread (OMP_NUM_THREADS=1); ratios are to the first;
  * mlpack: mlpack.emst (the PyPI wheel: dual-tree Boruvka, float64, one thread; Debian bookworm has no
    mlpack-bin), leaf size 1 (its default);
  * scipy: cKDTree.sparse_distance_matrix up to a threshold, then scipy.sparse.csgraph.minimum_spanning_tree. The
    threshold is the longest edge of our tree (the least at which the result is the exact MST, knowledge scipy
    would not have); where that would hold more than --max-pairs pairs (estimated from 2,000 sampled points) it is
    not run and the estimate is reported;
  * gudhi: RipsComplex(max_edge_length = the same threshold).create_simplex_tree(max_dimension=1), then its
    persistence, at --gudhi-n points only, under the same pair limit.
Each tool's time is compute only (the cloud is in memory; the k-d trees are included), measured inside its
process; peak memory is the process's max RSS (/usr/bin/time), so the Python tools' figures include the interpreter, its
imports and the cloud, shown on their own beside them. Every tool's total tree length is checked against ours.
A comparison tool only: topolatent never depends on mlpack, scipy or gudhi.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np


def make_cloud(kind, n, seed):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random((n, 3), dtype=np.float32)
    centres = rng.random((200, 3))
    spreads = 0.01 * 2.0 ** rng.integers(0, 3, size=200)
    blob = rng.integers(0, 200, size=n)
    return (centres[blob] + spreads[blob, None] * rng.standard_normal((n, 3))).astype(np.float32)


# ---- workers: each runs in its own process and prints one JSON line ----------------------------------------------

def worker(tool, path, threshold):
    import time
    points = np.load(path)
    if tool.startswith("idle-"):  # the interpreter, numpy, one tool's imports and the cloud: that tool's floor
        modules = {"mlpack": ["mlpack"], "scipy": ["scipy.sparse.csgraph", "scipy.spatial"], "gudhi": ["gudhi"]}
        for module in modules[tool[len("idle-"):]]:
            __import__(module)
        return {"seconds": 0.0, "total_length": 0.0}
    if tool == "mlpack":
        import mlpack
        data = points.astype(np.float64)
        start = time.perf_counter()
        tree = mlpack.emst(input_=data)["output"]
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "total_length": float(tree[:, 2].sum()), "edges": int(tree.shape[0])}
    if tool == "scipy":
        from scipy.sparse.csgraph import minimum_spanning_tree
        from scipy.spatial import cKDTree
        start = time.perf_counter()
        tree = cKDTree(points.astype(np.float64))
        pairs = tree.sparse_distance_matrix(tree, threshold, output_type="coo_matrix").tocsr()
        mst = minimum_spanning_tree(pairs)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "total_length": float(mst.sum()), "edges": int(mst.nnz),
                "pairs": int(pairs.nnz // 2)}
    if tool == "gudhi":
        import gudhi
        start = time.perf_counter()
        complex_ = gudhi.RipsComplex(points=points.astype(np.float64), max_edge_length=threshold)
        simplices = complex_.create_simplex_tree(max_dimension=1)
        simplices.compute_persistence(min_persistence=-1.0)
        deaths = simplices.persistence_intervals_in_dimension(0)[:, 1]
        seconds = time.perf_counter() - start
        finite = deaths[np.isfinite(deaths)]
        return {"seconds": seconds, "total_length": float(finite.sum()), "edges": int(finite.size),
                "pairs": int(simplices.num_simplices() - len(points))}
    raise ValueError(tool)


# ---- the driver --------------------------------------------------------------------------------------------------

def run_process(command, env=None):
    """Runs one timed process; returns its JSON line and its peak RSS in MiB. The RSS comes from /usr/bin/time,
    whose child is forked from it: a child forked from this Python process would count this process's pages."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        done = subprocess.run(["/usr/bin/time", "-o", rss.name, "-f", "%M"] + command, capture_output=True,
                              text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{command} failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1]), int(rss.read().split()[-1]) / 1024.0


def estimated_pairs(points, threshold, rng):
    """Pairs within the threshold, from the neighbour counts of 2,000 sampled points."""
    from scipy.spatial import cKDTree
    tree = cKDTree(points)
    sample = points[rng.choice(len(points), size=min(2000, len(points)), replace=False)]
    counts = tree.query_ball_point(sample, threshold, return_length=True)
    return float(np.mean(counts) - 1.0) * len(points) / 2.0


def idle_rss(me, tool, path):
    """Peak RSS in MiB of a Python process that imports the tool and loads the cloud, and does nothing else."""
    return run_process([sys.executable, me, "--worker", f"idle-{tool}", path, "0"])[1]


def load_average():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--clouds", nargs="+", default=["uniform", "clustered"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gudhi-n", type=int, default=100_000)
    parser.add_argument("--max-pairs", type=float, default=6e7)
    parser.add_argument("--out", default="")
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "CLOUD", "THRESHOLD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, path, threshold = args.worker
        print(json.dumps(worker(tool, path, float(threshold))))
        return

    ours_binary = os.path.join(args.build, "bench", "bench_euclidean_mst")
    me = os.path.abspath(__file__)
    rng = np.random.default_rng(7)
    lines = []
    say = lambda text="": (print(text, flush=True), lines.append(text))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    model = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True)
                  .stdout.splitlines() if l.startswith("Model name")), platform.processor())
    say(f"# H0 of large 3-D clouds: Euclidean MST against mlpack, scipy and gudhi ({datetime.date.today()})")
    say()
    say(f"- machine: {model}, {os.cpu_count()} cores, shared with other work (load average before: "
        f"{load_average()})")
    say(f"- code: {head} plus the uncommitted working tree; `python3 bench/compare_h0_large.py "
        f"{' '.join(sys.argv[1:])}`")
    say(f"- {args.repeats} rounds, the tools alternating within each; medians. Times are compute only (in process, "
        "the cloud in memory, trees included); memory is each process's peak RSS.")
    say()
    with tempfile.TemporaryDirectory() as scratch:
        for n in args.sizes:
            for kind in args.clouds:
                points = make_cloud(kind, n, seed=n + len(kind))
                path = os.path.join(scratch, f"{kind}_{n}.npy")
                np.save(path, points)
                first, _ = run_process([ours_binary, path])
                tree_length = first["total_length"]
                # The least threshold at which a thresholded graph holds the exact MST: our tree's longest edge.
                longest = first["longest"]
                threshold = longest * (1 + 1e-6)
                pairs = estimated_pairs(points.astype(np.float64), threshold, rng)
                tools = ["ours", "ours, 1 thread", "mlpack"]
                skipped = {}
                for tool in ("scipy", "gudhi"):
                    if tool == "gudhi" and n > args.gudhi_n:
                        continue
                    if pairs > args.max_pairs:
                        skipped[tool] = pairs
                    else:
                        tools.append(tool)
                results = {tool: [] for tool in tools}
                for _ in range(args.repeats):
                    for tool in tools:
                        command = ([ours_binary, path] if tool.startswith("ours") else
                                   [sys.executable, me, "--worker", tool, path, repr(threshold)])
                        one_thread = dict(os.environ, OMP_NUM_THREADS="1") if tool == "ours, 1 thread" else None
                        result, rss = run_process(command, one_thread)
                        results[tool].append((result, rss, load_average()))
                say(f"## {kind}, n = {n:,}")
                say()
                say(f"Longest MST edge {longest:.6g}; pairs within it (scipy's and gudhi's input): about "
                    f"{pairs:.3g}. Loads during the rounds: {', '.join(r[2] for r in results['ours'])}.")
                say()
                say("| tool | compute s (median) | x ours | peak RSS MiB (median) | x ours | of which Python, imports "
                    "and cloud | total length, rel. diff |")
                say("| --- | --- | --- | --- | --- | --- | --- |")
                ours_s = statistics.median(r[0]["seconds"] for r in results["ours"])
                ours_rss = statistics.median(r[1] for r in results["ours"])
                for tool in tools:
                    seconds = statistics.median(r[0]["seconds"] for r in results[tool])
                    rss = statistics.median(r[1] for r in results[tool])
                    total = results[tool][0][0]["total_length"]
                    floor = "" if tool.startswith("ours") else f"{idle_rss(me, tool, path):.0f}"
                    say(f"| {tool} | {seconds:.3f} | {seconds / ours_s:.2f} | {rss:.0f} | {rss / ours_rss:.2f} | "
                        f"{floor} | {(total - tree_length) / tree_length:+.1e} |")
                for tool, estimate in skipped.items():
                    say(f"| {tool} | not run: about {estimate:.2g} pairs within the threshold "
                        f"(over --max-pairs {args.max_pairs:.2g}) | | | | | |")
                say()
    if args.out:
        with open(args.out, "w") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
