#!/usr/bin/env python3
"""Times topolatent's sparse persistence (H0+H1 with a threshold) beside native ripser and gudhi on large 3-D clouds.

One command reruns the whole comparison (from the repository root, after building tl_persistence):

    python3 bench/compare_sparse_persistence.py --build build-s2 \\
        --out bench/results/sparse_persistence_DATE.md

For every cloud (uniform in the unit cube, a noisy torus; n = 5k, 20k, 50k) the threshold is chosen so that a point
has about --neighbours neighbours within it (from the cloud's density; the edge count is then measured with
scipy's cKDTree and reported), the cloud is written as CSV (float32 printed to 9 significant digits, which read back
exactly), and these whole processes run one after the other, alternating, --reps times (fewer at 50k):
  * ours: tl_persistence FILE.csv --sparse --threshold T --dim 1, on one thread (OMP_NUM_THREADS=1) and on two;
  * native ripser (Debian's 1.2.1): ripser --format point-cloud --threshold T --dim 1 FILE.csv (one thread);
  * gudhi: a Python process that reads the CSV, builds gudhi.RipsComplex(points, max_edge_length=T), its simplex
    tree up to dimension 2 and calls persistence() (one thread; its interpreter and imports are in its memory).
Each run's wall time and peak resident memory (max RSS) come from /usr/bin/time; the medians are reported with the
ratios ripser / ours and gudhi / ours (above 1: ours is faster or smaller). A tool whose run passes --budget
seconds is stopped and marked as such, and not run again on that cloud or larger ones of its kind.
At the smallest n the H1 diagrams of ours and ripser are compared as multisets of (birth, death) within ripser's
print precision (6 significant digits), as a sanity check: the script stops if they differ.
The load average is printed with every row: on a shared machine, rerun noisy rows (--n, --cloud).
A comparison tool only: topolatent never depends on ripser or gudhi.
"""
import argparse
import datetime
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

GUDHI_SCRIPT = """
import sys, numpy as np, gudhi
points = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float64)
tree = gudhi.RipsComplex(points=points, max_edge_length=float(sys.argv[2])).create_simplex_tree(max_dimension=2)
pairs = tree.persistence(homology_coeff_field=2, min_persistence=0)
print(len(pairs), tree.num_simplices())
"""


def make_cloud(kind, n, seed):
    rng = np.random.default_rng(seed)
    if kind == "cube":
        return rng.random((n, 3), dtype=np.float64).astype(np.float32)
    # A torus of radii 2 and 0.7 in 3-D, its angles uniform, with Gaussian noise of 0.02.
    a, b = rng.random(n) * 2 * math.pi, rng.random(n) * 2 * math.pi
    points = np.stack([(2 + 0.7 * np.cos(b)) * np.cos(a), (2 + 0.7 * np.cos(b)) * np.sin(a), 0.7 * np.sin(b)], axis=1)
    return (points + rng.normal(0, 0.02, points.shape)).astype(np.float32)


def threshold_for(kind, n, neighbours):
    """The radius holding about `neighbours` points around a point at the cloud's mean density."""
    if kind == "cube":  # volume 1
        return (neighbours / (n * 4.0 / 3.0 * math.pi)) ** (1.0 / 3.0)
    area = 4 * math.pi ** 2 * 2.0 * 0.7  # the torus' surface
    return math.sqrt(neighbours * area / (math.pi * n))


def edges_within(points, threshold):
    from scipy.spatial import cKDTree
    tree = cKDTree(points.astype(np.float64))
    return (int(tree.count_neighbors(tree, threshold)) - len(points)) // 2  # ordered pairs, each point with itself


def timed(cmd, budget, env=None):
    """(seconds, max RSS MiB, stdout) of a whole process under /usr/bin/time, or None past the budget."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        try:
            out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name] + cmd, env=env, check=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=budget).stdout
        except subprocess.TimeoutExpired:
            return None
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024.0, out


def h1_pairs(text):
    """The (birth, death) pairs of the H1 block of ripser's text form (essential bars: death inf)."""
    pairs, in_h1 = [], False
    for line in text.splitlines():
        if line.startswith("persistence intervals in dim"):
            in_h1 = line.strip().endswith("1:")
            continue
        if in_h1 and line.strip().startswith("["):
            birth, death = line.strip()[1:].split(")")[0].split(",")
            pairs.append((float(birth), float(death) if death.strip() else math.inf))
    return pairs


def same_diagram(ours, theirs):
    """Multisets equal within 6 significant digits (each of ours matched to an unmatched one of ripser's that close);
    ripser leaves out pairs with death <= birth (1 + float eps)."""
    import bisect
    eps = np.finfo(np.float32).eps
    ours = sorted(p for p in ours if p[1] > p[0] * (1 + eps))
    theirs = sorted(theirs)
    if len(ours) != len(theirs):
        return False, f"{len(ours)} pairs vs ripser's {len(theirs)}"
    close = lambda x, y: x == y or abs(x - y) <= 1e-5 * max(abs(x), abs(y))
    births, used, unmatched = [q[0] for q in theirs], [False] * len(theirs), 0
    for b, d in ours:
        i = bisect.bisect_left(births, b * (1 - 1e-5))
        while i < len(theirs) and births[i] <= b * (1 + 1e-5) and (used[i] or not close(theirs[i][1], d)):
            i += 1
        if i < len(theirs) and births[i] <= b * (1 + 1e-5):
            used[i] = True
        else:
            unmatched += 1
    return unmatched == 0, f"{unmatched} of {len(ours)} pairs unmatched" if unmatched else f"{len(ours)} pairs agree"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build-s2", help="build directory holding apps/tl_persistence")
    parser.add_argument("--out", help="write the Markdown report here")
    parser.add_argument("--n", type=int, action="append", help="cloud sizes (default 5000 20000 50000)")
    parser.add_argument("--cloud", action="append", choices=["cube", "torus"], help="clouds (default both)")
    parser.add_argument("--neighbours", type=float, action="append",
                        help="mean neighbours a point within the threshold (repeatable; default 60)")
    parser.add_argument("--gudhi-max-edges", type=int, default=1_000_000,
                        help="skip gudhi above this many edges (its simplex tree holds every triangle: GiBs)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions below 50k points (one at 50k and above)")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds a run may take")
    parser.add_argument("--no-gudhi", action="store_true")
    args = parser.parse_args()
    sizes, clouds = args.n or [5000, 20000, 50000], args.cloud or ["cube", "torus"]
    args.neighbours = args.neighbours or [60.0]
    ours = os.path.join(args.build, "apps", "tl_persistence")
    if not os.path.exists(ours):
        sys.exit(f"compare_sparse_persistence: {ours} is missing (build tl_persistence)")
    one_thread, two_threads = dict(os.environ, OMP_NUM_THREADS="1"), dict(os.environ, OMP_NUM_THREADS="2")
    rows, over_budget = [], set()
    workdir = tempfile.mkdtemp(prefix="sparse_bench_")
    print("cloud      n       T      edges/pt  tool         seconds  MiB     load", flush=True)
    for kind, neighbours, n in [(k, m, n) for m in args.neighbours for k in clouds for n in sorted(sizes)]:
        points = make_cloud(kind, n, seed=n)
        threshold = float(np.float32(threshold_for(kind, n, neighbours)))
        path = os.path.join(workdir, f"{kind}_{n}.csv")
        np.savetxt(path, points, fmt="%.9g", delimiter=",")
        edges = edges_within(points, threshold)
        tools = {
            "ours 1 thr": ([ours, path, "--sparse", "--threshold", repr(threshold)], one_thread),
            "ours 2 thr": ([ours, path, "--sparse", "--threshold", repr(threshold)], two_threads),
            "ripser": (["ripser", "--format", "point-cloud", "--threshold", repr(threshold), "--dim", "1", path],
                       one_thread),
        }
        if not args.no_gudhi and edges <= args.gudhi_max_edges:
            tools["gudhi"] = ([sys.executable, "-c", GUDHI_SCRIPT, path, repr(threshold)], one_thread)
        figures = {name: [] for name in tools}
        reps = 1 if n >= 50000 else args.reps
        outputs = {}
        for _ in range(reps):
            for name, (cmd, env) in tools.items():
                if (kind, name) in over_budget:
                    continue
                result = timed(cmd, args.budget, env)
                if result is None:
                    over_budget.add((kind, name))
                    continue
                figures[name].append(result[:2])
                outputs[name] = result[2]
        if n == min(sizes) and "ripser" in outputs and "ours 1 thr" in outputs:
            ok, detail = same_diagram(h1_pairs(outputs["ours 1 thr"]), h1_pairs(outputs["ripser"]))
            print(f"H1 of ours and ripser at {kind} n={n}: {detail}", flush=True)
            if not ok:
                sys.exit("compare_sparse_persistence: the H1 diagrams differ")
        load = os.getloadavg()[0]
        row = {"cloud": kind, "n": n, "threshold": threshold, "edges": edges, "load": load, "reps": reps,
               "gudhi_skipped": not args.no_gudhi and "gudhi" not in tools}
        for name, runs in figures.items():
            if runs:
                row[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
            else:
                row[name] = None
            budget = f"over the {args.budget:.0f} s budget"
            shown = f"{row[name][0]:8.2f}  {row[name][1]:6.0f}" if row[name] else budget
            print(f"{kind:8} {n:6d} {threshold:8.4f} {2 * edges / n:8.1f}  {name:11} {shown}  {load:.2f}",
                  flush=True)
        rows.append(row)
    shutil.rmtree(workdir)
    if args.out:
        write_report(args, rows)


def ratio(row, name, field):
    ours, theirs = row.get("ours 1 thr"), row.get(name)
    if ours is None or theirs is None:
        return "-"
    return f"{theirs[field] / ours[field]:.1f}x"


def write_report(args, rows):
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE, text=True).stdout.strip()
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    shown = lambda f, i, unit: "over budget" if f is None else f"{f[i]:.2f}" if unit == "s" else f"{f[i]:.0f}"
    gudhi_cell = lambda r, i, unit: "skipped" if r["gudhi_skipped"] else shown(r["gudhi"], i, unit) \
        if "gudhi" in r else "not run"
    lines = [
        f"# Sparse persistence (H0 + H1 with a threshold) against ripser and gudhi, {datetime.date.today()}",
        "",
        f"Machine: {model}, {os.cpu_count()} cores (a shared VM), {platform.system()} {platform.release()}. "
        f"Commit {head} + uncommitted working tree. Load average at the end of each row in the table.",
        "",
        "Command: `python3 " + " ".join(sys.argv) + "`" +
        f". Whole processes under /usr/bin/time, alternating, medians of {args.reps} runs below 50k points and one "
        "at 50k; memory is the peak resident set (max RSS) of the largest run. Ours: `tl_persistence FILE.csv "
        "--sparse --threshold T` (H0 + H1 with critical edges) on one thread and on two; ripser 1.2.1 "
        "(`--format point-cloud --threshold T --dim 1`, one thread); gudhi " + gudhi_version() +
        " (RipsComplex(points, max_edge_length=T), simplex tree to dimension 2, persistence(), in a Python process "
        "whose interpreter and NumPy count in its memory; skipped above " + f"{args.gudhi_max_edges} edges, where "
        "its simplex tree of every triangle would take GiBs). Thresholds give about "
        + " or ".join(f"{m:.0f}" for m in args.neighbours) +
        " neighbours a point (edges counted with scipy). Ratios: theirs / ours (one thread); "
        "above 1 ours is faster or smaller.",
        "",
        "| cloud | n | T | edges | ours 1 thr s | ours 2 thr s | ripser s | gudhi s | ripser/ours time | "
        "gudhi/ours time | ours MiB | ripser MiB | gudhi MiB | ripser/ours mem | gudhi/ours mem | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        g = r.get("gudhi")
        lines.append(
            f"| {r['cloud']} | {r['n']} | {r['threshold']:.4f} | {r['edges']} | {shown(r['ours 1 thr'], 0, 's')} | "
            f"{shown(r['ours 2 thr'], 0, 's')} | {shown(r['ripser'], 0, 's')} | "
            f"{gudhi_cell(r, 0, 's')} | {ratio(r, 'ripser', 0)} | {ratio(r, 'gudhi', 0)} | "
            f"{shown(r['ours 1 thr'], 1, 'm')} | {shown(r['ripser'], 1, 'm')} | "
            f"{gudhi_cell(r, 1, 'm')} | {ratio(r, 'ripser', 1)} | {ratio(r, 'gudhi', 1)} | "
            f"{r['load']:.2f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


def gudhi_version():
    try:
        import gudhi
        return gudhi.__version__
    except ImportError:
        return "(not installed)"


if __name__ == "__main__":
    main()
