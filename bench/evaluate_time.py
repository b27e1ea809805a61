#!/usr/bin/env python3
"""Times tl_evaluate on a trained run: the wall time of the whole command and the seconds of each metric group
(from evaluation.json), median and range over several runs, written as Markdown with the machine, the date, the
commit and the load average.

  python3 bench/evaluate_time.py BUILD_DIR CHECKPOINT --classifier LENET.tlc [--runs 3] [--skip robustness]
                                 [--out bench/results/evaluate_cpu_DATE.md]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("checkpoint")
    parser.add_argument("--classifier", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", default="robustness")
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    tool = os.path.join(args.build, "apps", "tl_evaluate")
    walls, groups, evaluation = [], {}, {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as out:
        command = [tool, args.checkpoint, "--skip", args.skip, "--out", out, "--quiet"]
        if args.classifier:
            command += ["--classifier", args.classifier]
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
            with open(os.path.join(out, "evaluation.json")) as f:
                evaluation = json.load(f)
            for name, seconds in evaluation["seconds"].items():
                groups.setdefault(name, []).append(seconds)
    load_after = os.getloadavg()

    today = datetime.date.today().isoformat()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    path = args.out or f"bench/results/evaluate_cpu_{today}.md"
    span = lambda values: f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"
    lines = [
        "# tl_evaluate benchmark (cpu)",
        "",
        f"- Machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after",
        f"- Date: {today}; commit {commit}",
        f"- Run: `{args.checkpoint}` (model `{evaluation['model']}`, step {evaluation['step']}), "
        f"{evaluation['points']} points of the {evaluation['split']} split of `{evaluation['data']}`; "
        f"groups skipped: {args.skip}; classifier: `{args.classifier or 'none (data space)'}`",
        f"- Figures: median [range] over {args.runs} runs of the whole command, seconds",
        "",
        "| part | seconds |",
        "| --- | --- |",
        f"| whole command (load, groups, writes) | {span(walls)} |",
    ]
    lines += [f"| group {name} | {span(values)} |" for name, values in groups.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
