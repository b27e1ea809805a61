"""Runs bench_train_step (topolatent) and train_step_torch.py (PyTorch, + gudhi for TALSR) in the same session,
alternating, and writes a markdown table of their median step times and ratios, with machine, date, commit and the
machine's load during the run.

    python3 bench/train_step_compare.py --build build --out bench/results/train_step_cpu_DATE.md [--threads 2]
    python3 bench/train_step_compare.py --build build --out bench/results/generative_steps_DATE.md \
        --model dcgan_28,unet_28,point_gan,point_denoiser --threads 1,2

    python3 bench/train_step_compare.py --build build --out bench/results/train_step_contention_DATE.md \
        --threads 1,2 --variants plain,talsr_h0h1 --compete

--compete runs a competing busy process (one spinning Python interpreter) for the whole comparison, as on a machine
whose other core is busy; with --threads 1,2 a second table gives each side's two-thread / one-thread time ratio.
Each repeat runs, for every model and every thread count, both sides one after the other (which side goes first
alternates between repeats), so that drifts in the machine's load hit both alike. --threads sets OMP_NUM_THREADS for
topolatent and torch.set_num_threads for PyTorch.
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

MODELS = {
    "reference_vae": "reference VAE of pytorch/examples (784-400-20), BCE + KL, Fashion-MNIST, one Adam step",
    "dcgan_28": "gan family, dcgan_28 (DCGAN-style conv nets, channels 64, noise 64), Fashion-MNIST; one step = the "
                "discriminator's phase (D on the real batch and on the detached G(z), its Adam step) then the "
                "generator's (D(G(z)) through the updated D, its Adam step); TALSR on G(z) against the real batch",
    "unet_28": "diffusion family, unet_28 (two-level U-Net, channels 32, time embedding 32), Fashion-MNIST, T = 1000; "
               "epsilon MSE, one Adam step; TALSR on the predicted x_0 of the rows with t < 200 (about a fifth) "
               "against the same real rows",
    "point_gan": "gan family, point_gan (MLPs 2-128-128-2 and 2-128-128-1), noisy unit circle (noise 0.05); "
                 "phases as dcgan_28",
    "point_denoiser": "diffusion family, point_denoiser (MLP 128 x 3 on [x_t, emb_32(t)]), the same circle; as "
                      "unet_28",
}
IMAGE_MODELS = {"dcgan_28", "unet_28"}  # slow steps: fewer of them (--image-steps)


def run_csv(command, env):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return {(row["model"], row["variant"]): row for row in csv.DictReader(io.StringIO(output))}


def shell(command):
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout.strip()


def load_1min():
    return float(open("/proc/loadavg").read().split()[0])


def compare(args, models, threads, here, loads, runs):
    """Runs both sides args.repeat times, alternating, collecting rows into runs[(threads, side, repeat)]."""
    for repeat in range(args.repeat):
        for model in models:
            image = model in IMAGE_MODELS
            steps, warmup = (args.image_steps, args.image_warmup) if image else (args.steps, args.warmup)
            common = ["--model", model, "--batch", str(args.batch), "--steps", str(steps), "--warmup", str(warmup)]
            if args.variants:
                common += ["--variants", args.variants]
            for n in threads:
                env = dict(os.environ, OMP_NUM_THREADS=str(n))
                sides = [("ours", [os.path.join(args.build, "bench", "bench_train_step"), *common, "--device",
                                   args.device]),
                         ("torch", [sys.executable, os.path.join(here, "train_step_torch.py"), *common, "--threads",
                                    str(n)])]
                for side, command in sides if repeat % 2 == 0 else reversed(sides):
                    loads.append(load_1min())
                    rows = run_csv(command, env)
                    runs.setdefault((n, side, repeat), {}).update(rows)
                    print(f"repeat {repeat}, {n} thread(s), {side}: " + ", ".join(
                        f"{m}/{v} {float(r['median_step_ms']):.2f} ms" for (m, v), r in rows.items()), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="reference_vae", help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--threads", default="2", help="comma-separated thread counts, e.g. 1,2")
    parser.add_argument("--batch", type=int, default=0, help="0: each model's (64 for the 28 x 28 generative "
                        "models, 128 otherwise)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--image-steps", type=int, default=20, help="--steps of dcgan_28 and unet_28")
    parser.add_argument("--image-warmup", type=int, default=3, help="--warmup of dcgan_28 and unet_28")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of both sides")
    parser.add_argument("--variants", default="", help="comma-separated bench_train_step variants (default: all)")
    parser.add_argument("--compete", action="store_true", help="run a competing busy process throughout")
    args = parser.parse_args()
    models = args.model.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    here = os.path.dirname(os.path.abspath(__file__))
    uptime_before, top_before = shell("uptime"), shell("ps -eo pcpu,etime,args --sort=-pcpu | head -6 | cut -c1-160")
    loads = []
    runs = {}  # (threads, side) -> [run rows]
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.compete else None
    try:
        compare(args, models, threads, here, loads, runs)
    finally:
        if competitor:
            competitor.kill()
            competitor.wait()
    loads.append(load_1min())
    uptime_after = shell("uptime")
    import torch
    import gudhi

    commit = shell("git rev-parse --short HEAD")
    dirty = shell("git status --porcelain --untracked-files=no | wc -l")
    untracked = shell("git status --porcelain | grep -c '^??'")
    cpu = shell("lscpu | grep 'Model name' | cut -d: -f2")
    models_lines = [f"  - {m}: {MODELS[m]}" for m in models]
    lines = [
        f"# Training-step benchmark ({args.device}): topolatent against PyTorch",
        "",
        f"- Machine: {platform.node()}, {cpu}, {os.cpu_count()} CPUs; threads: {args.threads} for both sides "
        "(OMP_NUM_THREADS, torch.set_num_threads)",
        f"- Date: {datetime.date.today()}; commit {commit}"
        + (f" with a working tree that differs from it ({dirty} modified tracked files, {untracked} untracked)"
           if dirty != "0" or untracked != "0" else ""),
        f"- Load: before `{uptime_before}`; after `{uptime_after}`; 1-minute load average sampled before each of "
        f"the {len(loads) - 1} runs: {min(loads):.2f} to {max(loads):.2f} (median {statistics.median(loads):.2f})",
        "- Busiest processes at the start:",
        "",
        "```",
        top_before,
        "```",
        "",
        "- Models (batch: " + (str(args.batch) if args.batch else "64 for dcgan_28 and unet_28, 128 otherwise")
        + "; Adam):",
        *models_lines,
        f"- Each figure is the median over {args.repeat} alternating runs of the per-run median step time "
        f"({args.steps} steps after {args.warmup} warm-up steps; dcgan_28 and unet_28: {args.image_steps} after "
        f"{args.image_warmup}); brackets: the range over the runs. A step runs from the batch gather to the last "
        "optimiser step (topolatent: as tl_train runs it, through the Trainer and the model family)",
        f"- Reference: PyTorch {torch.__version__} (eager, CPU), the networks of scripts/crosscheck_pytorch.py; TALSR "
        f"rows use gudhi {gudhi.__version__} (RipsComplex + flag_persistence_generators, gudhi.wasserstein with POT "
        "for W_1)",
        "- TALSR: W_1 between the H0 (and H1) Vietoris-Rips diagrams of the real batch and of the model's batch",
        "- Competing load: " + ("one busy process (a spinning Python interpreter) ran throughout the comparison"
                                if args.compete else "none started by the benchmark"),
        "",
        "| threads | model | step | topolatent (ms) | of which topology forward | PyTorch (ms) | of which topology "
        "forward | PyTorch / topolatent | topolatent step / its plain step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def summary(n, side, key, column):
        values = sorted(float(runs[(n, side, r)][key][column]) for r in range(args.repeat))
        return statistics.median(values), values[0], values[-1]

    for n in threads:
        keys = list(runs[(n, "ours", 0)])
        for key in keys:
            model, variant = key
            ms_o, lo_o, hi_o = summary(n, "ours", key, "median_step_ms")
            ms_t, lo_t, hi_t = summary(n, "torch", key, "median_step_ms")
            topo_o = summary(n, "ours", key, "median_topology_ms")[0]
            topo_t = summary(n, "torch", key, "median_topology_ms")[0]
            plain = summary(n, "ours", (model, "plain"), "median_step_ms")[0] if (model, "plain") in keys else None
            lines.append(f"| {n} | {model} | {variant} | {ms_o:.2f} [{lo_o:.2f}-{hi_o:.2f}] | {topo_o:.2f} | "
                         f"{ms_t:.2f} [{lo_t:.2f}-{hi_t:.2f}] | {topo_t:.2f} | {ms_t / ms_o:.2f} | "
                         + (f"{ms_o / plain:.2f} |" if plain else "- |"))
    if 1 in threads and 2 in threads:
        lines += ["", "Two threads against one (each side's median step time at 2 threads / at 1 thread; below 1 is "
                  "faster with two):", "", "| model | step | topolatent 2 / 1 | PyTorch 2 / 1 |", "| --- | --- | --- | --- |"]
        for model, variant in runs[(1, "ours", 0)]:
            ratio = {side: summary(2, side, (model, variant), "median_step_ms")[0]
                     / summary(1, side, (model, variant), "median_step_ms")[0] for side in ("ours", "torch")}
            lines.append(f"| {model} | {variant} | {ratio['ours']:.2f} | {ratio['torch']:.2f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
