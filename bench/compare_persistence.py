#!/usr/bin/env python3
"""Times topolatent's persistence (H0+H1) beside native ripser and giotto-ph on the same clouds, in one run.

One command reruns the whole comparison (from the repository root, after building bench_persistence and
tl_persistence):

    python3 bench/compare_persistence.py --build build-x --out bench/results/persistence_ripser_DATE.md

For every cloud size and cloud (uniform 3-D and 16-D, Gaussian 16-D and 64-D, torus, noisy circle, Fashion-MNIST
784-D), one after the other so that all figures of a row are taken within a minute or two of each other:
  * bench_persistence --cloud NAME --n N writes the cloud (.npy, .csv) and prints topolatent's in-process,
    compute-only medians: one thread and two threads (one cloud, its columns listed and reduced in parallel);
  * native ripser (the `ripser` command, Debian's 1.2.1: ripser --dim 1 --format point-cloud FILE.csv) and our
    command (tl_persistence FILE.csv --dim 1, OMP_NUM_THREADS=1) as whole processes, their runs alternating;
    ripser's compute-only time is approximated as its whole-process time less that of `ripser --dim 0` on a
    3-point file (its start-up), which still includes reading the CSV text; ours is the in-process median above;
  * giotto-ph (gph.ripser_parallel, maxdim=1) in process with n_threads=1 and 2;
  * at --memory-n (2048), the peak resident memory (max RSS, /usr/bin/time, the largest of the timed runs) of the
    ripser and tl_persistence processes (with --gph-memory, also of a Python process running giotto-ph, its
    interpreter and imports included).
The load average is printed with every row: on a shared machine, rerun noisy rows (--n, --cloud).
A comparison tool only: topolatent never depends on ripser or giotto-ph.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CLOUDS = ["uniform_d3", "uniform_d16", "gaussian_d16", "gaussian_d64", "torus_d3", "circle_d2", "fashion_d784"]


def run(cmd, env=None):
    """(seconds, peak resident KiB) of one run of a command under GNU time, its output discarded."""
    t0 = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            check=True, text=True, env=env)
    return time.perf_counter() - t0, int(result.stderr.strip().splitlines()[-1])


def wall(cmd, env=None):
    return run(cmd, env)[0]


def max_rss_kib(cmd, env=None):
    return run(cmd, env)[1]


def median_of(fn, runs):
    return statistics.median(fn() for _ in range(runs))


def load():
    return "%.2f" % os.getloadavg()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="build directory holding bench/ and apps/ (README: ./build)")
    parser.add_argument("--n", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--cloud", nargs="+", default=CLOUDS, choices=CLOUDS)
    parser.add_argument("--runs", type=int, default=3, help="runs per process timing (1 when a run takes > 20 s)")
    parser.add_argument("--memory-n", type=int, default=2048, help="cloud size whose peak memory is measured")
    parser.add_argument("--ripser", default=shutil.which("ripser") or "/usr/bin/ripser")
    parser.add_argument("--no-gph", action="store_true", help="skip giotto-ph")
    parser.add_argument("--gph-memory", action="store_true",
                        help="also measure giotto-ph's peak memory at --memory-n (one more run in a Python process)")
    parser.add_argument("--out", help="also write the tables (Markdown) to this file")
    args = parser.parse_args()

    bench = os.path.join(args.build, "bench", "bench_persistence")
    cli = os.path.join(args.build, "apps", "tl_persistence")
    for tool in (bench, cli, args.ripser):
        if not os.path.exists(tool):
            sys.exit(f"compare_persistence: {tool} is missing (build bench_persistence and tl_persistence; "
                     "apt-get install ripser)")
    gph = None
    if not args.no_gph:
        try:
            import gph
        except ImportError:
            print("(giotto-ph not installed: pip install giotto-ph; its columns stay empty)", flush=True)
    one_thread = dict(os.environ, OMP_NUM_THREADS="1")

    rows, memory_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny.csv")
        with open(tiny, "w") as f:
            f.write("0,0\n1,0\n0,1\n")
        startup_ripser = median_of(lambda: wall([args.ripser, "--dim", "0", "--format", "point-cloud", tiny]), 7)
        startup_ours = median_of(lambda: wall([cli, tiny, "--dim", "0"], one_thread), 7)
        print(f"start-up (3-point file, median of 7): ripser {startup_ripser * 1e3:.1f} ms, "
              f"tl_persistence {startup_ours * 1e3:.1f} ms", flush=True)
        for n in args.n:
            for name in args.cloud:
                figures = os.path.join(tmp, "ours.jsonl")
                subprocess.run([bench, "--cloud", name, "--n", str(n), "--clouds", tmp, "--json", figures,
                                "--no-batch"], check=True, stdout=subprocess.DEVNULL)
                lines = [json.loads(line) for line in open(figures)]
                if not lines:  # the cloud was skipped (Fashion-MNIST not installed)
                    continue
                ours = lines[0]
                csv = os.path.join(tmp, ours["name"] + ".csv")
                ripser_cmd = [args.ripser, "--dim", "1", "--format", "point-cloud", csv]
                cli_cmd = [cli, csv, "--dim", "1"]
                # Alternate the two processes; one run each when ripser takes long. Their peak memory comes with.
                ripser_runs, cli_runs = [run(ripser_cmd)], [run(cli_cmd, one_thread)]
                runs = args.runs if ripser_runs[0][0] < 20 else 1
                for _ in range(runs - 1):
                    ripser_runs.append(run(ripser_cmd))
                    cli_runs.append(run(cli_cmd, one_thread))
                row = dict(ours, ripser_whole_s=statistics.median(r[0] for r in ripser_runs),
                           cli_whole_s=statistics.median(r[0] for r in cli_runs), load=load())
                if gph is not None:
                    points = np.load(os.path.join(tmp, ours["name"] + ".npy"))
                    for threads in (1, 2):
                        def run_gph():
                            t0 = time.perf_counter()
                            gph.ripser_parallel(points, maxdim=1, n_threads=threads)
                            return time.perf_counter() - t0
                        first = run_gph()
                        row[f"gph{threads}_s"] = first if first > 20 else median_of(run_gph, runs)
                if n == args.memory_n:
                    mem = dict(name=ours["name"], ripser_kib=max(r[1] for r in ripser_runs),
                               ours_kib=max(r[1] for r in cli_runs))
                    if gph is not None and args.gph_memory:
                        script = ("import sys, numpy, gph; gph.ripser_parallel(numpy.load(sys.argv[1]), maxdim=1, "
                                  "n_threads=1)")
                        mem["gph_kib"] = max_rss_kib([sys.executable, "-c", script,
                                                      os.path.join(tmp, ours["name"] + ".npy")])
                    memory_rows.append(mem)
                    print(f"  memory {ours['name']}: ripser {mem['ripser_kib'] / 1024:.0f} MiB, "
                          f"tl_persistence {mem['ours_kib'] / 1024:.0f} MiB", flush=True)
                rows.append(row)
                print(f"  {ours['name']}: ours {ours['h01_s'] * 1e3:.1f} ms (2 threads "
                      f"{ours['h01_two_threads_s'] * 1e3:.1f}), ripser whole {row['ripser_whole_s'] * 1e3:.0f} ms, "
                      f"ours whole {row['cli_whole_s'] * 1e3:.0f} ms, load {row['load']}", flush=True)

    def ms(s):
        return "-" if s is None else (f"{s * 1e3:.0f}" if s >= 0.1 else f"{s * 1e3:.1f}")

    def ratio(a, b):
        return "-" if a is None or b is None else f"{a / b:.1f}x"

    out = ["| cloud | n | ours 1t ms | ripser compute ms | ratio | ours 2t ms | 2t/1t | ripser whole ms | "
           "ours whole ms | whole ratio | gph 1t ms | gph 2t ms | gph 2t / ours 2t | load |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        ripser_compute = r["ripser_whole_s"] - startup_ripser
        ours_2t = r["h01_two_threads_s"]
        out.append(f"| {r['cloud']} {r['dim']}-D | {r['n']} | {ms(r['h01_s'])} | {ms(ripser_compute)} | "
                   f"{ratio(ripser_compute, r['h01_s'])} | {ms(ours_2t)} | {ratio(r['h01_s'], ours_2t)} | "
                   f"{ms(r['ripser_whole_s'])} | {ms(r['cli_whole_s'])} | "
                   f"{ratio(r['ripser_whole_s'], r['cli_whole_s'])} | {ms(r.get('gph1_s'))} | {ms(r.get('gph2_s'))} | "
                   f"{ratio(r.get('gph2_s'), ours_2t)} | {r['load']} |")
    if memory_rows:
        out += ["", "| cloud | ripser max RSS MiB | tl_persistence max RSS MiB | ours / ripser | giotto-ph (Python) MiB |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for m in memory_rows:
            gph_mib = f"{m['gph_kib'] / 1024:.0f}" if "gph_kib" in m else "-"
            out.append(f"| {m['name']} | {m['ripser_kib'] / 1024:.0f} | {m['ours_kib'] / 1024:.0f} | "
                       f"{m['ours_kib'] / m['ripser_kib']:.2f} | {gph_mib} |")
    versions = (f"ripser: {args.ripser} (start-up {startup_ripser * 1e3:.1f} ms), tl_persistence start-up "
                f"{startup_ours * 1e3:.1f} ms, giotto-ph {getattr(gph, '__version__', 'absent')}, "
                f"Python {platform.python_version()}")
    text = "\n".join(out) + (
        "\n\nours 1t / 2t: in-process compute-only medians (bench_persistence, critical edges included); ripser compute: "
        "its whole process less its start-up; ratio: ripser compute over ours 1t (above 1: topolatent is faster); "
        "whole: both commands as processes on one thread, CSV reading and printing included; gph: giotto-ph "
        f"ripser_parallel in process.\n{versions}.\n")
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
