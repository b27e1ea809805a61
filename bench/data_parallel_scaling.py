#!/usr/bin/env python3
"""Data-parallel scaling of tl_train on this machine: the same config trained by one process (1 and K threads) and
by K processes under mpirun (1 thread each), alternating, several rounds; per arm the median step time after the
warm-up steps, the median time in collectives (`communication_ms` of log.jsonl) and its share of the step, and the
speed-up over one process on one thread. Each arm trains the same global batch.

  python3 bench/data_parallel_scaling.py --build build [--configs A.json B.json] [--steps 60] [--warmup 10]
                                         [--rounds 3] [--processes 2] [--out FILE.md]
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import tempfile


def run_arm(build, config, processes, threads, steps, directory):
    """Trains `config` for `steps` steps; returns the log's records of the steps."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [os.path.join(build, "apps", "tl_train"), config, f"max_steps={steps}", f"output={directory}",
               "progress=false", "--no-eval", "--force"]
    if processes > 1:
        command = ["mpirun", "-np", str(processes), "--oversubscribe", "--bind-to", "none"] + command
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(os.path.join(directory, "log.jsonl")) as log:
        return [json.loads(line) for line in log if '"step"' in line]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--configs", nargs="+",
                        default=["configs/fashion_mnist_vae.json", "configs/fashion_mnist_vae_talsr.json"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()

    k = args.processes
    arms = [("1 process, 1 thread", 1, 1), (f"1 process, {k} threads", 1, k), (f"{k} processes, 1 thread each", k, 1)]
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        for config in args.configs:
            step_ms = {name: [] for name, _, _ in arms}
            communication_ms = {name: [] for name, _, _ in arms}
            for _ in range(args.rounds):  # alternating arms, so that the machine's load falls on all of them
                for name, processes, threads in arms:
                    records = run_arm(args.build, config, processes, threads, args.steps,
                                      os.path.join(scratch, "run"))[args.warmup:]
                    step_ms[name] += [r["model_ms"] + r["topology_ms"] for r in records]
                    communication_ms[name] += [r.get("communication_ms", 0.0) for r in records]
            base = statistics.median(step_ms[arms[0][0]])
            lines.append(f"\n### `{config}` ({args.steps} steps, the first {args.warmup} dropped, {args.rounds} rounds)\n")
            lines.append("| arm | step ms (median) | in collectives ms | share | speed-up over 1 process, 1 thread |")
            lines.append("| --- | --- | --- | --- | --- |")
            for name, _, _ in arms:
                step = statistics.median(step_ms[name])
                comm = statistics.median(communication_ms[name])
                lines.append(f"| {name} | {step:.2f} | {comm:.2f} | {100 * comm / step:.0f} % | {base / step:.2f}x |")
    load = os.getloadavg()
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"]).returncode != 0
    header = [f"# Data-parallel training steps, {datetime.date.today()}", "",
              f"- Machine: {cpu.strip()}, {os.cpu_count()} cores (shared VM); load average before the report "
              f"{load[0]:.2f} / {load[1]:.2f}",
              f"- Commit: {commit}{' with uncommitted changes' if dirty else ''}; "
              f"`python3 bench/data_parallel_scaling.py --build {args.build}`",
              "- Step time: the log's model_ms + topology_ms (the step's wall time); collectives: communication_ms "
              "(MPI all-gathers of the gradients, logged values and, for topology terms, the batch's rows; waiting "
              "for the other process included)"]
    text = "\n".join(header + lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
