"""Runs bench_train_step (topolatent) and train_step_torch.py (PyTorch, + gudhi for TALSR) in the same session and
writes a markdown table of their median step times and ratios, with machine, date and commit.

    python3 bench/train_step_compare.py --build build --out bench/results/train_step_cpu_DATE.md [--threads 2]
"""
import argparse
import csv
import datetime
import io
import os
import platform
import statistics
import subprocess
import sys


def run_csv(command, env):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return {row["variant"]: row for row in csv.DictReader(io.StringIO(output))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of both sides")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    here = os.path.dirname(os.path.abspath(__file__))
    ours_runs, torch_runs = [], []
    for _ in range(args.repeat):  # alternate the two sides so that drifts in machine load hit both alike
        ours_runs.append(run_csv([os.path.join(args.build, "bench", "bench_train_step"), "--batch", str(args.batch),
                                  "--steps", str(args.steps), "--device", args.device], env))
        torch_runs.append(run_csv([sys.executable, os.path.join(here, "train_step_torch.py"), "--batch",
                                   str(args.batch), "--steps", str(args.steps), "--threads", str(args.threads)], env))
    import torch
    import gudhi

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    lines = [
        f"# Training-step benchmark ({args.device})",
        "",
        f"- Machine: {platform.node()}, {cpu}, {os.cpu_count()} CPUs; {args.threads} threads for both sides",
        f"- Date: {datetime.date.today()}; commit {commit}",
        f"- Model: reference VAE of pytorch/examples (784-400-20), Fashion-MNIST, batch {args.batch}, Adam; each "
        f"figure is the median over {args.repeat} alternating runs of the per-run median of {args.steps} steps "
        "(after 10 warm-up steps); brackets: the range over the runs",
        f"- Reference: PyTorch {torch.__version__} (eager, CPU); TALSR rows use gudhi {gudhi.__version__} "
        "(RipsComplex + flag_persistence_generators, gudhi.wasserstein with POT for W_1)",
        "- TALSR: W_1 between the H0 (and H1) diagrams of the input batch (784-D) and of the latent means",
        "",
        "| step | topolatent (ms) | of which topology forward | PyTorch (ms) | of which topology forward | "
        "PyTorch / topolatent | topolatent step / its plain step |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def summary(runs, variant, column):
        values = sorted(float(run[variant][column]) for run in runs)
        return statistics.median(values), values[0], values[-1]

    plain = summary(ours_runs, "plain", "median_step_ms")[0]
    for variant in ["plain", "talsr_h0", "talsr_h0h1"]:
        ms_o, lo_o, hi_o = summary(ours_runs, variant, "median_step_ms")
        ms_t, lo_t, hi_t = summary(torch_runs, variant, "median_step_ms")
        topo_o = summary(ours_runs, variant, "median_topology_ms")[0]
        topo_t = summary(torch_runs, variant, "median_topology_ms")[0]
        lines.append(f"| {variant} | {ms_o:.2f} [{lo_o:.2f}-{hi_o:.2f}] | {topo_o:.2f} | {ms_t:.2f} [{lo_t:.2f}-"
                     f"{hi_t:.2f}] | {topo_t:.2f} | {ms_t / ms_o:.2f} | {ms_o / plain:.2f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
