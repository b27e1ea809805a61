"""Peer cross-check: replays topolatent's first training steps of the reference VAE (pytorch/examples, 784-400-20)
in PyTorch from the same initial weights, batches and reparameterisation noise, and checks that the loss terms,
every gradient and the parameters after the last Adam step agree within float32 tolerance. PyTorch comes from PyPI;
it is never a dependency of topolatent.

    python3 scripts/crosscheck_pytorch.py BUILD_DIR DATA_DIR    exit 0: agree, 1: mismatch, 77: no PyTorch or data
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as missing:
    print(f"skipped: {missing.name} is not installed (pip install torch numpy)")
    sys.exit(77)

# Our parameter names -> the pytorch/examples VAE's layers.
LAYERS = {"encoder.0": "fc1", "mu": "fc21", "logvar": "fc22", "decoder.0": "fc3", "decoder.2": "fc4"}
RTOL, ATOL = 1e-4, 1e-6
# Adam divides by sqrt(v) + eps: where a gradient is within float32 noise of zero (the border pixels' weights),
# a rounding-level gradient difference moves the update by up to lr * |g| / (|g| + eps). With PyTorch 2.15 one
# such weight (a gradient of 6.0e-8 here, 7.2e-8 there) ends 2.0 % of lr apart after three steps. Parameters are
# therefore compared with an absolute tolerance of 5 % of the learning rate; a wrong update rule moves whole
# tensors by a multiple of lr, and the gradients themselves are compared to RTOL above.
PARAMETER_ATOL_OF_LR = 5e-2


def load(directory, name, shape=None):
    array = torch.from_numpy(np.load(os.path.join(directory, name + ".npy")))
    return array.reshape(shape) if shape is not None else array


class ReferenceVae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 20), torch.nn.Linear(400, 20)
        self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

    def forward(self, x, eps):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def named(model):
    for ours, theirs in LAYERS.items():
        layer = getattr(model, theirs)
        yield ours + ".weight", layer.weight
        yield ours + ".bias", layer.bias


def main():
    build, data = sys.argv[1], sys.argv[2]
    if not os.path.isdir(data):
        print(f"skipped: no data set directory {data}")
        return 77
    failures = []
    worst = {}

    def compare(what, ours, theirs, rtol=RTOL, atol=ATOL, kind="gradients"):
        # Elementwise |ours - theirs| <= atol + rtol * max |theirs|: relative to the tensor's scale, since a
        # float32 sum of hundreds of products carries an error of that order in every entry, large or small.
        difference = (ours - theirs).abs().max().item()
        scale = theirs.abs().max().item()
        worst[kind] = max(worst.get(kind, 0.0), difference / max(scale, 1e-30))
        if difference > atol + rtol * scale:
            failures.append(f"{what}: largest difference {difference:.3g} at scale {scale:.3g}")

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([os.path.join(build, "apps", "tl_crosscheck_export"), data, out], check=True)
        record = json.load(open(os.path.join(out, "steps.json")))
        torch.set_default_dtype(torch.float32)
        model = ReferenceVae()
        with torch.no_grad():
            for name, parameter in named(model):
                parameter.copy_(load(out, "initial." + name, parameter.shape))
        optimizer = torch.optim.Adam(model.parameters(), lr=record["lr"])
        batch = record["batch"]
        for step, losses in enumerate(record["losses"]):
            tag = f"step{step}."
            x, eps = load(out, tag + "x"), load(out, tag + "eps")
            logits, mu, logvar = model(x, eps)
            reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / batch
            optimizer.zero_grad()
            (reconstruction + kl).backward()
            compare(f"step {step} reconstruction loss", torch.tensor(losses["reconstruction"]), reconstruction.detach(),
                    rtol=1e-5, kind="losses")
            compare(f"step {step} KL", torch.tensor(losses["kl"]), kl.detach(), rtol=1e-4, kind="losses")
            for name, parameter in named(model):
                compare(f"step {step} gradient of {name}", load(out, tag + "grad." + name, parameter.shape),
                        parameter.grad)
            optimizer.step()
        for name, parameter in named(model):
            compare(f"parameter {name} after {len(record['losses'])} Adam steps",
                    load(out, "final." + name, parameter.shape), parameter.detach(),
                    atol=PARAMETER_ATOL_OF_LR * record["lr"], kind="parameters")
    steps = len(record["losses"])
    if failures:
        print("MISMATCH between topolatent and PyTorch " + torch.__version__ + ":\n  " + "\n  ".join(failures))
        return 1
    print(f"topolatent and PyTorch {torch.__version__} agree on {steps} steps: loss terms, every gradient "
          f"(within {RTOL} of each tensor's scale) and the parameters after the last Adam step (atol "
          f"{PARAMETER_ATOL_OF_LR} lr); largest differences: "
          + ", ".join(f"{kind} {value:.3g}" for kind, value in sorted(worst.items())) + " of the tensors' scale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
