"""PyTorch reference for bench_train_step: the same reference VAE (pytorch/examples, 784-400-20), data, batch,
loss (BCE + KL, each summed over features and averaged over the batch) and Adam step, timed the same way
(median after warm-up). The TALSR variants compute Vietoris-Rips persistence with gudhi (the usual PyTorch +
gudhi recipe: gudhi's flag_persistence_generators give the critical edges, distances at those edges are the
differentiable births/deaths, gudhi.wasserstein with enable_autodiff gives W_1). Not a dependency of topolatent.

    python3 bench/train_step_torch.py [--data DIR] [--batch 128] [--steps 60] [--warmup 10] [--threads 2]
"""
import argparse
import gzip
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_images(directory, count):
    with gzip.open(f"{directory}/train-images-idx3-ubyte.gz", "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(raw.reshape(-1, 784)[:count].astype(np.float32) / 255.0)


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default="plain,talsr_h0,talsr_h0h1")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = load_images(args.data, (args.steps + args.warmup + 1) * args.batch)
    print("variant,device,batch,steps_timed,median_step_ms,median_topology_ms")
    for variant in args.variants.split(","):
        dims = {"plain": [], "talsr_h0": [0], "talsr_h0h1": [0, 1]}[variant]
        model = ReferenceVae()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.randperm(images.shape[0])
        step_ms, topology_ms = [], []
        for step in range(args.steps + args.warmup):
            start = time.perf_counter()
            x = images[order[step * args.batch:(step + 1) * args.batch]]
            reconstruction, mu, logvar = model(x)
            loss = F.binary_cross_entropy_with_logits(reconstruction, x, reduction="sum") / args.batch
            loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / args.batch
            topo_start = time.perf_counter()
            if dims:
                loss = loss + talsr(x, mu, dims)
            topo = time.perf_counter() - topo_start
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step >= args.warmup:
                step_ms.append((time.perf_counter() - start) * 1e3)
                topology_ms.append(topo * 1e3)
        print(f"{variant},cpu,{args.batch},{args.steps},{statistics.median(step_ms):.3f},"
              f"{statistics.median(topology_ms):.3f}", flush=True)


if __name__ == "__main__":
    main()
