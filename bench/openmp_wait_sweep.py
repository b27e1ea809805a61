#!/usr/bin/env python3
"""Times the reference-VAE training step (bench_train_step, plain and TALSR H0+H1) on one thread, on two threads
under several OpenMP wait policies, and with the team left to the trainer's ThreadTuner, on a quiet machine and
beside a competing busy process, alternating the order between repeats: whether two threads can be kept from being
slower than one when another process holds a core (issue 15; bench/results/threads_contention_2026-12-0*.md).

    python3 bench/openmp_wait_sweep.py --build build [--repeat 3] [--steps 40] [--out FILE]
"""
import argparse
import csv
import io
import os
import statistics
import subprocess
import sys

POLICIES = [
    ("1 thread", {"OMP_NUM_THREADS": "1"}),
    ("2 threads, libgomp's default spin (300000)", {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "300000"}),
    ("2 threads, spin 20000", {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "20000"}),
    ("2 threads, spin 2000", {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "2000"}),
    ("2 threads, spin 200", {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "200"}),
    ("2 threads, passive", {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "passive"}),
    # No OMP_NUM_THREADS: the trainer's ThreadTuner picks the team (every core, or one) from timed windows of steps.
    ("every core, the trainer's tuner", {}),
]
CLEARED = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "KMP_BLOCKTIME", "OMP_NUM_THREADS")


def sweep(args, compete):
    """{(policy, variant): [median step ms per run]} with or without a competing busy process."""
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if compete else None
    results = {}
    try:
        for repeat in range(args.repeat):
            for name, settings in POLICIES if repeat % 2 == 0 else list(reversed(POLICIES)):
                env = {k: v for k, v in os.environ.items() if k not in CLEARED}
                env.update(settings)
                command = [os.path.join(args.build, "bench", "bench_train_step"), "--steps", str(args.steps),
                           "--warmup", "5", "--variants", "plain,talsr_h0h1"]
                output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
                for row in csv.DictReader(io.StringIO(output)):
                    results.setdefault((name, row["variant"]), []).append(float(row["median_step_ms"]))
    finally:
        if competitor:
            competitor.kill()
            competitor.wait()
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out")
    args = parser.parse_args()
    lines = [f"Load before: {open('/proc/loadavg').read().strip()}", "",
             "| machine | OpenMP | plain step (ms) | TALSR H0+H1 step (ms) | plain / 1 thread | TALSR / 1 thread |",
             "| --- | --- | --- | --- | --- | --- |"]
    for compete in (False, True):
        results = sweep(args, compete)
        one = {v: statistics.median(results[("1 thread", v)]) for v in ("plain", "talsr_h0h1")}
        for name, _ in POLICIES:
            plain, talsr = (statistics.median(results[(name, v)]) for v in ("plain", "talsr_h0h1"))
            runs = " ".join(f"{x:.1f}" for x in results[(name, "plain")])
            lines.append(f"| {'busy core' if compete else 'quiet'} | {name} | {plain:.2f} ({runs}) | {talsr:.2f} | "
                         f"{plain / one['plain']:.2f} | {talsr / one['talsr_h0h1']:.2f} |")
    lines.append(f"\nLoad after: {open('/proc/loadavg').read().strip()}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
