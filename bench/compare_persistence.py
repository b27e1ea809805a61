#!/usr/bin/env python3
"""Times topolatent's persistence beside ripser (ripser.py) and gudhi on the same clouds in the same run.

Runs build/bench/bench_persistence (which writes every cloud as .npy and its own medians as JSON lines), then times
ripser (H0 and H0+H1, in process, one thread) and gudhi (H0+H1, small n only: it takes seconds) on those files,
and prints a Markdown table with the ratios. A comparison tool only: topolatent never depends on these packages.
usage: python3 bench/compare_persistence.py [--bench build/bench/bench_persistence] [--max-n 512] [--out FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np


def median_time(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", default="build/bench/bench_persistence")
    parser.add_argument("--max-n", type=int, default=512)
    parser.add_argument("--gudhi-max-n", type=int, default=256)
    parser.add_argument("--out")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import ripser
    except ImportError:
        ripser = None
    try:
        import gudhi
    except ImportError:
        gudhi = None

    with tempfile.TemporaryDirectory() as tmp:
        figures = os.path.join(tmp, "ours.jsonl")
        subprocess.run([args.bench, "--clouds", tmp, "--json", figures, "--max-n", str(args.max_n)], check=True)
        rows = [json.loads(line) for line in open(figures)]
        lines = ["| cloud | dim | n | ours H0 ms | ripser H0 ms | ratio | ours H0+H1 ms | ripser H0+H1 ms | ratio | gudhi H0+H1 ms |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in rows:
            if "cloud" not in row:
                batch = row
                continue
            points = np.load(os.path.join(tmp, row["name"] + ".npy"))
            runs = 3 if row["n"] >= 1024 else 5
            r0 = r1 = g1 = None
            if ripser:
                r0 = median_time(lambda: ripser.ripser(points, maxdim=0), runs)
                r1 = median_time(lambda: ripser.ripser(points, maxdim=1), runs)
            if gudhi and row["n"] <= args.gudhi_max_n:
                def gudhi_h1():
                    tree = gudhi.RipsComplex(points=points).create_simplex_tree(max_dimension=2)
                    tree.compute_persistence()
                g1 = median_time(gudhi_h1, 1)
            fmt = lambda s: "-" if s is None else f"{s * 1e3:.2f}"
            ratio = lambda ref, ours: "-" if ref is None else f"{ref / ours:.1f}x"
            lines.append(f"| {row['cloud']} | {row['dim']} | {row['n']} | {row['h0_s'] * 1e3:.3f} | {fmt(r0)} | "
                         f"{ratio(r0, row['h0_s'])} | {row['h01_s'] * 1e3:.2f} | {fmt(r1)} | {ratio(r1, row['h01_s'])} | {fmt(g1)} |")
            print(lines[-1], flush=True)
        versions = (f"ripser {getattr(ripser, '__version__', 'absent') if ripser else 'absent'}, "
                    f"gudhi {gudhi.__version__ if gudhi else 'absent'}")
        text = "\n".join(lines) + (
            f"\n\nRatios: the reference's median time over ours (above 1: topolatent is faster). {versions}.\n"
            f"Batch of 32 clouds (Gaussian, d = 16, n = 512), H0+H1: {batch['one_thread_s'] * 1e3:.0f} ms on one thread, "
            f"{batch['two_threads_s'] * 1e3:.0f} ms on two ({batch['one_thread_s'] / batch['two_threads_s']:.2f}x).\n")
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
