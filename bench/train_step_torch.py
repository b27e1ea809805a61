"""PyTorch reference for bench_train_step: the same models, data, batch, losses, step order and Adam steps, timed the
same way (each step from the batch gather to the last optimiser step, median after warm-up). The TALSR variants
compute Vietoris-Rips persistence with gudhi (the usual PyTorch + gudhi recipe: gudhi's flag_persistence_generators
give the critical edges, distances at those edges are the differentiable births/deaths, gudhi.wasserstein with
enable_autodiff gives W_1). Not a dependency of topolatent.

Models (--model, comma-separated; the networks of the generative ones are scripts/crosscheck_pytorch.py's replicas,
checked there against topolatent's losses and gradients):
  reference_vae   pytorch/examples' VAE (784-400-20), BCE + KL, Fashion-MNIST, batch 128;
  dcgan_28        the DCGAN-style nets (channels 64, noise 64, sigmoid output), batch 64: z drawn and G(z) computed
                  once; the discriminator's loss BCE(D(x), 1) + BCE(D(G(z).detach()), 0) and its Adam step, then the
                  generator's BCE(D(G(z)), 1) through the updated discriminator (+ TALSR on G(z) against x) and its
                  Adam step (PyTorch's DCGAN example; Adam lr 2e-4, betas 0.5 / 0.999);
  unet_28         the two-level U-Net (channels 32), batch 64: t uniform in {0, .., 999}, eps ~ N(0, I),
                  x_t = q_sample(x, t, eps), MSE(eps_theta(x_t, t), eps) (+ TALSR on the predicted x_0 of the rows
                  with t < 200 against the same rows of x, when there are at least 3), one Adam step;
  point_gan       the MLP GAN (noise 2, 128-128) on a noisy unit circle (noise 0.05), batch 128;
  point_denoiser  the MLP denoiser (128 x 3, time embedding 32) on the same circle, batch 128.

    python3 bench/train_step_torch.py [--model M[,M...]] [--variants V,...] [--data DIR] [--batch 0] [--steps 60]
                                      [--warmup 10] [--threads 2]
"""
import argparse
import gzip
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from crosscheck_pytorch import Denoiser, Gan  # noqa: E402  (the replicas of nn/generative_models.h)

GAN_SPECS = {
    "dcgan_28": {"architecture": "conv28", "data_dim": 784, "noise_dim": 64, "hidden": [128, 128], "channels": 64,
                 "output": "sigmoid"},
    "point_gan": {"architecture": "mlp", "data_dim": 2, "noise_dim": 2, "hidden": [128, 128], "channels": 64,
                  "output": "identity"},
}
DENOISER_SPECS = {
    "unet_28": {"architecture": "conv28", "data_dim": 784, "hidden": [128, 128, 128], "time_dim": 32, "channels": 32},
    "point_denoiser": {"architecture": "mlp", "data_dim": 2, "hidden": [128, 128, 128], "time_dim": 32,
                       "channels": 32},
}
DIFFUSION_STEPS, TOPOLOGY_MAX_T = 1000, 200  # bench_train_step's diffusion section (betas 1e-4 to 0.02)


def load_images(directory, count):
    with gzip.open(f"{directory}/train-images-idx3-ubyte.gz", "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(raw.reshape(-1, 784)[:count].astype(np.float32) / 255.0)


def noisy_circle(count, noise=0.05):
    angles = 2 * math.pi * torch.rand(count)
    return torch.stack([torch.cos(angles), torch.sin(angles)], 1) + noise * torch.randn(count, 2)


class ReferenceVae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 400)
        self.fc21 = torch.nn.Linear(400, 20)
        self.fc22 = torch.nn.Linear(400, 20)
        self.fc3 = torch.nn.Linear(20, 400)
        self.fc4 = torch.nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def gudhi_diagrams(points, dims):
    import gudhi

    distances = torch.cdist(points, points)
    tree = gudhi.RipsComplex(distance_matrix=distances.detach().numpy()).create_simplex_tree(
        max_dimension=max(dims) + 1)
    tree.compute_persistence()
    finite, _ = tree.flag_persistence_generators()[:2]
    diagrams = []
    for dim in dims:
        if dim == 0:
            g = torch.as_tensor(finite, dtype=torch.long).reshape(-1, 3)
            deaths = distances[g[:, 1], g[:, 2]]
            diagrams.append(torch.stack([torch.zeros_like(deaths), deaths], 1))
        else:
            pairs = tree.flag_persistence_generators()[1]
            g = torch.as_tensor(pairs[0] if len(pairs) else np.zeros((0, 4)), dtype=torch.long).reshape(-1, 4)
            diagrams.append(torch.stack([distances[g[:, 0], g[:, 1]], distances[g[:, 2], g[:, 3]]], 1))
    return diagrams


def talsr(batch, latent, dims):
    from gudhi.wasserstein import wasserstein_distance

    total = 0.0
    for a, b in zip(gudhi_diagrams(batch, dims), gudhi_diagrams(latent, dims)):
        total = total + wasserstein_distance(a, b, order=1, internal_p=np.inf, enable_autodiff=True,
                                              keep_essential_parts=False)
    return total


class Timer:
    """Adds the seconds spent inside `with timer:` blocks of the current step to `seconds`."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *_):
        self.seconds += time.perf_counter() - self.start


def vae_step(dims):
    model = ReferenceVae()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, topo):
        reconstruction, mu, logvar = model(x)
        loss = F.binary_cross_entropy_with_logits(reconstruction, x, reduction="sum") / x.shape[0]
        loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        if dims:
            with topo:
                loss = loss + talsr(x, mu, dims)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def gan_step(spec, dims):
    model = Gan(spec)
    model.train()
    optimizers = [torch.optim.Adam(part.parameters(), lr=2e-4, betas=(0.5, 0.999))
                  for part in (model.discriminator, model.generator)]

    def step(x, topo):
        b = x.shape[0]
        ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
        fake = model.generator(torch.randn(b, spec["noise_dim"]))
        loss = (F.binary_cross_entropy_with_logits(model.discriminator(x), ones)
                + F.binary_cross_entropy_with_logits(model.discriminator(fake.detach()), zeros))
        optimizers[0].zero_grad()
        loss.backward()
        optimizers[0].step()
        loss = F.binary_cross_entropy_with_logits(model.discriminator(fake), ones)
        if dims:
            with topo:
                loss = loss + talsr(x, fake, dims)
        optimizers[1].zero_grad()
        loss.backward()
        optimizers[1].step()

    return step


def diffusion_step(spec, dims):
    model = Denoiser(spec)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    s = torch.arange(DIFFUSION_STEPS, dtype=torch.float64)
    alpha_bars = torch.cumprod(1.0 - (1e-4 + (0.02 - 1e-4) * s / (DIFFUSION_STEPS - 1)), dim=0)
    signal, spread = alpha_bars.sqrt().float(), (1.0 - alpha_bars).sqrt().float()

    def step(x, topo):
        t = torch.randint(0, DIFFUSION_STEPS, (x.shape[0],))
        eps = torch.randn_like(x)
        x_t = x * signal[t][:, None] + eps * spread[t][:, None]
        predicted = model(x_t, t)
        loss = F.mse_loss(predicted, eps)
        rows = torch.nonzero(t < TOPOLOGY_MAX_T).reshape(-1)
        if dims and len(rows) >= 3:
            x0 = (x_t[rows] - spread[t[rows]][:, None] * predicted[rows]) / signal[t[rows]][:, None]
            with topo:
                loss = loss + talsr(x[rows], x0, dims)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def make_step(model, dims):
    if model == "reference_vae":
        return vae_step(dims)
    if model in GAN_SPECS:
        return gan_step(GAN_SPECS[model], dims)
    return diffusion_step(DENOISER_SPECS[model], dims)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="reference_vae",
                        help="comma-separated: reference_vae, dcgan_28, unet_28, point_gan, point_denoiser")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--batch", type=int, default=0, help="0: 64 for dcgan_28 and unet_28, 128 otherwise")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default="", help="comma-separated (default: as bench_train_step)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("model,variant,device,batch,steps_timed,median_step_ms,median_topology_ms")
    for model_name in args.model.split(","):
        generative = model_name in GAN_SPECS or model_name in DENOISER_SPECS
        batch = args.batch or (64 if model_name in ("dcgan_28", "unet_28") else 128)
        rows = (args.steps + args.warmup + 1) * batch
        data = noisy_circle(rows) if model_name.startswith("point_") else load_images(args.data, rows)
        variants = args.variants or ("plain,talsr_h0h1" if generative else "plain,talsr_h0,talsr_h0h1")
        for variant in variants.split(","):
            dims = {"plain": [], "talsr_h0": [0], "talsr_h0h1": [0, 1]}[variant]
            step = make_step(model_name, dims)
            order = torch.randperm(data.shape[0])
            step_ms, topology_ms = [], []
            for i in range(args.steps + args.warmup):
                topo = Timer()
                start = time.perf_counter()
                step(data[order[i * batch:(i + 1) * batch]], topo)
                if i >= args.warmup:
                    step_ms.append((time.perf_counter() - start) * 1e3)
                    topology_ms.append(topo.seconds * 1e3)
            print(f"{model_name},{variant},cpu,{batch},{args.steps},{statistics.median(step_ms):.3f},"
                  f"{statistics.median(topology_ms):.3f}", flush=True)


if __name__ == "__main__":
    main()
