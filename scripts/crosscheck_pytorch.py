"""Peer cross-check: replays topolatent's first training steps in PyTorch from the same initial weights, batches and
random draws, and checks that the loss values, every gradient, the batch-norm running statistics and the parameters
after the last Adam step agree within float32 tolerance. PyTorch comes from PyPI; it is never a dependency of
topolatent.

    python3 scripts/crosscheck_pytorch.py BUILD_DIR DATA_DIR [--model M ...]
        exit 0: agree, 1: mismatch, 77: no PyTorch, or no data set for a model that needs it (the other models
        still run, and a mismatch among them exits 1)

--model (repeatable; default vae):
  vae        the reference VAE (pytorch/examples, 784-400-20) on MNIST, its reparameterisation noise replayed;
  gan        the trainer's gan family, point_gan (MLP generator and discriminator) on a synthetic circle;
  dcgan      the gan family's dcgan_28 (DCGAN-style convolutional nets, 8 channels) on MNIST;
  diffusion  the trainer's diffusion family, point_denoiser (MLP epsilon model) on a synthetic circle;
  unet       the diffusion family's unet_28 (the two-level convolutional U-Net, 8 channels) on MNIST;
  all        every one of them.
The GAN steps follow PyTorch's DCGAN example (pytorch/examples dcgan/main.py): the discriminator on the real batch
and on the detached G(z) (binary cross-entropy with logits, labels 1 and 0, means), its Adam step; then the
generator's loss BCE(D(G(z)), 1) on the same G(z) through the updated discriminator, its Adam step. A diffusion step
is Ho et al.'s L_simple: x_t = q_sample(x_0, t, eps), the mean squared error of eps_theta(x_t, t) against eps.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as missing:
    print(f"skipped: {missing.name} is not installed (pip install torch numpy)")
    sys.exit(77)

MODELS = ["vae", "gan", "dcgan", "diffusion", "unet"]
IMAGE_MODELS = {"vae", "dcgan", "unet"}  # the models that train on the MNIST test split in DATA_DIR

# Our parameter names -> the pytorch/examples VAE's layers.
LAYERS = {"encoder.0": "fc1", "mu": "fc21", "logvar": "fc22", "decoder.0": "fc3", "decoder.2": "fc4"}
RTOL, ATOL = 1e-4, 1e-6
# Adam divides by sqrt(v) + eps: where a gradient is within float32 noise of zero (the border pixels' weights),
# a rounding-level gradient difference moves the update by up to lr * |g| / (|g| + eps). With PyTorch 2.15 one
# such weight (a gradient of 6.0e-8 here, 7.2e-8 there) ends 2.0 % of lr apart after three steps. Parameters are
# therefore compared with an absolute tolerance of 5 % of the learning rate; a wrong update rule moves whole
# tensors by a multiple of lr, and the gradients themselves are compared to RTOL above.
PARAMETER_ATOL_OF_LR = 5e-2
LOSS_RTOL = 1e-5
# A bias followed by batch normalisation in training mode (the DCGAN generator's Linear and first ConvTranspose2d,
# the discriminator's second Conv2d) cancels out of the output: its gradient is zero in exact arithmetic, and what
# either framework computes is float32 rounding of a sum of cancelling terms, uncorrelated between the two (our
# 1e-9 against PyTorch's -3e-9). Such a gradient is compared to the scale of the gradient of the layer's weight:
# it must be rounding noise on both sides (below RTOL of that scale). Adam normalises the rounding noise to steps
# of about lr of either sign, so after each Adam step these biases are compared with an absolute tolerance of twice
# the largest step Adam can take (adam_step_bound) and then ours is copied into the replica: the batch norm's
# running mean holds the bias, and would otherwise drift apart by momentum times the biases' difference (with 8
# channels, 7e-4 at a scale of 0.07 after three DCGAN steps). Every other parameter is compared after every step
# and after the last with PARAMETER_ATOL_OF_LR.


def adam_step_bound(step, beta1, beta2):
    """The largest |update| / lr of Adam's step number `step` (from 1) over all gradient histories, eps aside:
    with the bias-corrected m = sum_k a_k g_k and v = sum_k b_k g_k^2, |m| / sqrt(v) <= sqrt(sum_k a_k^2 / b_k)
    (Cauchy-Schwarz). 1 at the first step; 1.13 at the third with beta1 0.5, beta2 0.999."""
    total = 0.0
    for k in range(1, step + 1):
        a = (1 - beta1) * beta1 ** (step - k) / (1 - beta1 ** step)
        b = (1 - beta2) * beta2 ** (step - k) / (1 - beta2 ** step)
        total += a * a / b
    return math.sqrt(total)


def load(directory, name, shape=None):
    array = torch.from_numpy(np.load(os.path.join(directory, name + ".npy")))
    return array.reshape(shape) if shape is not None else array


class Checker:
    """Collects the comparisons of one model: the failures, and the largest difference of each kind relative to
    the compared tensor's scale."""

    def __init__(self):
        self.failures = []
        self.worst = {}

    def compare(self, what, ours, theirs, rtol=RTOL, atol=ATOL, kind="gradients", scale=None, unit=None):
        # Elementwise |ours - theirs| <= atol + rtol * max |theirs|: relative to the tensor's scale, since a
        # float32 sum of hundreds of products carries an error of that order in every entry, large or small.
        # The largest difference is logged relative to `unit` when given (a learning rate), else to the scale.
        ours, theirs = ours.reshape(theirs.shape).to(torch.float32), theirs.detach().to(torch.float32)
        difference = (ours - theirs).abs().max().item()
        scale = theirs.abs().max().item() if scale is None else scale
        self.worst[kind] = max(self.worst.get(kind, 0.0), difference / max(scale if unit is None else unit, 1e-30))
        if not difference <= atol + rtol * scale:  # also catches NaN
            self.failures.append(f"{what}: largest difference {difference:.3g} at scale {scale:.3g}")

    def summary(self):
        return ", ".join(f"{kind} {value:.3g}" for kind, value in sorted(self.worst.items()))


# ----------------------------------------------------------------------------------------------------------------
# The reference VAE.

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


def replay_vae(out, record, check):
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
        check.compare(f"step {step} reconstruction loss", torch.tensor(losses["reconstruction"]),
                      reconstruction.detach(), rtol=LOSS_RTOL, kind="losses")
        check.compare(f"step {step} KL", torch.tensor(losses["kl"]), kl.detach(), rtol=1e-4, kind="losses")
        for name, parameter in named(model):
            check.compare(f"step {step} gradient of {name}", load(out, tag + "grad." + name, parameter.shape),
                          parameter.grad)
        optimizer.step()
    for name, parameter in named(model):
        check.compare(f"parameter {name} after {len(record['losses'])} Adam steps",
                      load(out, "final." + name, parameter.shape), parameter.detach(),
                      atol=PARAMETER_ATOL_OF_LR * record["lr"], kind="parameters")
    return len(record["losses"])


# ----------------------------------------------------------------------------------------------------------------
# The GAN and diffusion models of nn/generative_models.h, laid out so that their parameter and buffer names are
# topolatent's ("generator.4.weight", "down1.norm.bias", ...).

OUTPUTS = {"identity": None, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def mlp(widths, hidden, output=None):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        activation = output if i + 2 == len(widths) else hidden
        if activation is not None:
            layers.append(activation())
    return nn.Sequential(*layers)


class Gan(nn.Module):
    def __init__(self, spec):
        super().__init__()
        output = OUTPUTS[spec["output"]]
        if spec["architecture"] == "mlp":
            self.generator = mlp([spec["noise_dim"], *spec["hidden"], spec["data_dim"]], nn.ReLU, output)
            widths = [spec["data_dim"], *reversed(spec["hidden"]), 1]
            layers = []
            for i in range(len(widths) - 1):
                layers.append(nn.Linear(widths[i], widths[i + 1]))
                if i + 2 < len(widths):
                    layers.append(nn.LeakyReLU(0.2))
            self.discriminator = nn.Sequential(*layers)
            return
        c = spec["channels"]
        generator = [nn.Linear(spec["noise_dim"], 2 * c * 7 * 7), nn.BatchNorm1d(2 * c * 7 * 7), nn.ReLU(),
                     nn.Unflatten(1, (2 * c, 7, 7)), nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c),
                     nn.ReLU(), nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Flatten()]
        self.generator = nn.Sequential(*generator, *([output()] if output is not None else []))
        self.discriminator = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, 2 * c, 4, 2, 1),
            nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * c * 7 * 7, 1))


def sinusoidal_embedding(t, dim):
    """nn/layers.h SinusoidalTimeEmbedding: half = dim // 2, f_i = exp(-log(10000) i / (half - 1)), row r is
    [sin(t_r f_i)..., cos(t_r f_i)...] (a zero column for odd dim), computed in double and rounded to float once."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / (half - 1))
    angles = t.to(torch.float64)[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2 == 1:
        embedding = F.pad(embedding, (0, 1))
    return embedding.to(torch.float32)


class Block(nn.Module):
    """conv(SiLU(GroupNorm(x))), plus a per-channel projection of the time features when time_width > 0."""

    def __init__(self, in_channels, out_channels, kernel, stride, time_width):
        super().__init__()
        self.norm = nn.GroupNorm(8, in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, 1)
        if time_width > 0:
            self.time = nn.Linear(time_width, out_channels)

    def forward(self, x, e=None):
        h = self.conv(F.silu(self.norm(x)))
        return h if e is None else h + self.time(e)[:, :, None, None]


class Denoiser(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        if spec["architecture"] == "mlp":
            self.mlp = mlp([spec["data_dim"] + spec["time_dim"], *spec["hidden"], spec["data_dim"]], nn.SiLU)
            return
        c = spec["channels"]
        self.time = mlp([spec["time_dim"], 4 * c, 4 * c], nn.SiLU)
        self.input = nn.Conv2d(1, c, 3, 1, 1)
        self.down1 = Block(c, 2 * c, 4, 2, 4 * c)
        self.down2 = Block(2 * c, 2 * c, 4, 2, 4 * c)
        self.middle = Block(2 * c, 2 * c, 3, 1, 4 * c)
        self.up1 = Block(4 * c, 2 * c, 3, 1, 0)
        self.up2 = Block(3 * c, c, 3, 1, 0)
        self.output = Block(c, 1, 3, 1, 0)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x_t, t):
        embedding = sinusoidal_embedding(t, self.spec["time_dim"])
        if self.spec["architecture"] == "mlp":
            return self.mlp(torch.cat([x_t, embedding], dim=1))
        e = self.time(embedding)
        h0 = self.input(x_t.reshape(-1, 1, 28, 28))
        h1 = self.down1(h0, e)
        h2 = self.down2(h1, e)
        m = self.middle(h2, e)
        u1 = self.up1(torch.cat([self.upsample(m), h1], dim=1))
        u2 = self.up2(torch.cat([self.upsample(u1), h0], dim=1))
        return self.output(u2).reshape(-1, 784)


def q_sample(diffusion, x0, t, eps):
    """nn/diffusion.h: betas linear from beta_start to beta_end over T steps, alpha_bar_t = prod_{s <= t} (1 - beta_s)
    in double; x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps with the coefficients rounded to float."""
    steps = diffusion["steps"]
    s = torch.arange(steps, dtype=torch.float64)
    betas = diffusion["beta_start"] + (diffusion["beta_end"] - diffusion["beta_start"]) * s / max(steps - 1, 1)
    alpha_bars = torch.cumprod(1.0 - betas, dim=0)
    signal = alpha_bars.sqrt()[t].to(torch.float32)[:, None]
    spread = (1.0 - alpha_bars).sqrt()[t].to(torch.float32)[:, None]
    return x0 * signal + eps * spread


def cancelling_biases(model):
    """The biases whose gradient is zero in exact arithmetic (the comment above adam_step_bound), each mapped to its
    layer's weight: those of layers followed by batch normalisation in a Sequential and, in the U-Net, up2's
    convolution when output.norm has one channel per group (channels 8): its output u2 feeds only that GroupNorm,
    which normalises each sample's channel by its own mean, so a per-channel bias cancels."""
    biases = {}
    if isinstance(model, Denoiser) and hasattr(model, "output"):
        if model.output.norm.num_groups == model.output.norm.num_channels:
            biases["up2.conv.bias"] = "up2.conv.weight"
    for prefix, module in model.named_modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (name, layer), (_, following) in zip(children, children[1:]):
            if isinstance(following, nn.modules.batchnorm._BatchNorm) and getattr(layer, "bias", None) is not None:
                biases[f"{prefix}.{name}.bias"] = f"{prefix}.{name}.weight"
    return biases


def replay_family(out, record, check):
    gan = record["family"] == "gan"
    model = Gan(record["spec"]) if gan else Denoiser(record["spec"])
    model.train()
    parameters = dict(model.named_parameters())
    buffers = {name: buffer for name, buffer in model.named_buffers() if not name.endswith("num_batches_tracked")}
    ours = [name for phase in record["phases"] for name in phase["parameters"]]
    if sorted(ours) != sorted(parameters) or sorted(record["buffers"]) != sorted(buffers):
        check.failures.append(f"the replica's parameters {sorted(parameters)} and buffers {sorted(buffers)} are not "
                              f"topolatent's {sorted(ours)} and {sorted(record['buffers'])}")
        return 0
    with torch.no_grad():
        for name, tensor in [*parameters.items(), *buffers.items()]:
            prefix = "initial." if name in parameters else "initial.buffer."
            tensor.copy_(load(out, prefix + name, tensor.shape))
    options = record["optimizer"]
    optimizers = [torch.optim.Adam([parameters[name] for name in phase["parameters"]], lr=phase["lr"],
                                   betas=tuple(options["betas"]), eps=options["eps"],
                                   weight_decay=options["weight_decay"]) for phase in record["phases"]]
    phases = [phase["name"] for phase in record["phases"]]
    cancelling = cancelling_biases(model)
    batch = record["batch"]

    def check_phase(step, phase, loss):
        tag = f"step{step}."
        ours = torch.tensor(record["records"][step]["phase_losses"][phases[phase]])
        check.compare(f"step {step} {phases[phase]} loss", ours, loss.detach(), rtol=LOSS_RTOL, kind="losses")
        for name in record["phases"][phase]["parameters"]:
            ours, theirs = load(out, f"{tag}{phases[phase]}.grad.{name}"), parameters[name].grad
            if name in cancelling:  # rounding noise on both sides, at the scale of the weight's gradient
                scale = parameters[cancelling[name]].grad.abs().max().item()
                check.compare(f"step {step} gradient of {name} (ours)", ours, torch.zeros_like(theirs),
                              kind="cancelling-bias gradients", scale=scale)
                check.compare(f"step {step} gradient of {name} (PyTorch's)", theirs, torch.zeros_like(theirs),
                              kind="cancelling-bias gradients", scale=scale)
            else:
                check.compare(f"step {step} gradient of {name}", ours, theirs)
        lr = record["records"][step]["lr"][phases[phase]]
        for group in optimizers[phase].param_groups:
            group["lr"] = lr
        optimizers[phase].step()
        for name in record["phases"][phase]["parameters"]:
            ours = load(out, f"{tag}{phases[phase]}.updated.{name}", parameters[name].shape)
            if name in cancelling:
                # One noise-driven step apart: at most twice Adam's largest step (adam_step_bound), plus 1 % of lr
                # for the float32 rounding of the parameters. Then ours is carried over, so that the running means
                # of the batch norm behind the bias (which hold the bias) stay comparable.
                bound = adam_step_bound(step + 1, *options["betas"])
                check.compare(f"step {step} {name} after the {phases[phase]} step", ours, parameters[name],
                              atol=(2 * bound + 0.01) * lr, kind="cancelling-bias parameters / lr", unit=lr)
                with torch.no_grad():
                    parameters[name].copy_(ours)
            else:
                check.compare(f"step {step} {name} after the {phases[phase]} step", ours, parameters[name],
                              atol=PARAMETER_ATOL_OF_LR * lr, kind="parameters / lr", unit=lr)

    steps = len(record["records"])
    for step in range(steps):
        tag = f"step{step}."
        x = load(out, tag + "x")
        if gan:
            # PyTorch's DCGAN example: D on the real batch, then on the detached fake, D's step; then G through the
            # updated D on the same fake, G's step.
            z = load(out, tag + "z")
            ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
            optimizers[0].zero_grad()
            real_loss = F.binary_cross_entropy_with_logits(model.discriminator(x), ones)
            real_loss.backward()
            fake = model.generator(z)
            fake_loss = F.binary_cross_entropy_with_logits(model.discriminator(fake.detach()), zeros)
            fake_loss.backward()
            check_phase(step, 0, real_loss + fake_loss)
            optimizers[1].zero_grad()
            generator_loss = F.binary_cross_entropy_with_logits(model.discriminator(fake), ones)
            generator_loss.backward()
            check_phase(step, 1, generator_loss)
        else:
            t, eps = load(out, tag + "t").reshape(-1).to(torch.int64), load(out, tag + "eps")
            x_t = q_sample(record["diffusion"], x, t, eps)
            optimizers[0].zero_grad()
            loss = F.mse_loss(model(x_t, t), eps)
            loss.backward()
            check_phase(step, 0, loss)
        for name, buffer in buffers.items():
            check.compare(f"step {step} buffer {name}", load(out, tag + "buffer." + name), buffer, kind="buffers")
    for phase in record["phases"]:
        for name in phase["parameters"]:
            if name not in cancelling:  # those were carried over after each step
                check.compare(f"parameter {name} after {steps} Adam steps", load(out, "final." + name),
                              parameters[name], atol=PARAMETER_ATOL_OF_LR * phase["lr"], kind="parameters / lr",
                              unit=phase["lr"])
    for name, buffer in buffers.items():
        check.compare(f"buffer {name} after {steps} steps", load(out, "final.buffer." + name), buffer, kind="buffers")
    return steps


def crosscheck(build, data, model):
    """Exports `model`'s steps with tl_crosscheck_export and replays them; returns (failures, message)."""
    check = Checker()
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([os.path.join(build, "apps", "tl_crosscheck_export"), data, out, "--model", model], check=True)
        exported = time.monotonic()
        record = json.load(open(os.path.join(out, "steps.json")))
        torch.manual_seed(0)  # nothing is drawn, but the replica's layers initialise before their weights are loaded
        steps = replay_vae(out, record, check) if model == "vae" else replay_family(out, record, check)
    replayed = time.monotonic()
    timing = f"export {exported - start:.1f} s, replay {replayed - exported:.1f} s"
    if check.failures:
        return check.failures, f"{model}: MISMATCH ({timing})"
    return [], (f"{model}: agree on {steps} steps ({timing}); largest differences relative to the tensors' scale "
                "(parameters of the generative models relative to the learning rate): " + check.summary())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", help="the build directory holding apps/tl_crosscheck_export")
    parser.add_argument("data", help="directory of MNIST's t10k IDX files")
    parser.add_argument("--model", action="append", choices=MODELS + ["all"],
                        help="the model to cross-check (repeatable; default vae)")
    arguments = parser.parse_args()
    models = arguments.model or ["vae"]
    models = MODELS if "all" in models else list(dict.fromkeys(models))
    torch.set_default_dtype(torch.float32)
    failures, skipped = [], []
    for model in models:
        if model in IMAGE_MODELS and not os.path.isdir(arguments.data):
            print(f"{model}: skipped: no data set directory {arguments.data}")
            skipped.append(model)
            continue
        model_failures, message = crosscheck(arguments.build, arguments.data, model)
        print(message)
        failures += [f"{model}: {failure}" for failure in model_failures]
    if failures:
        print("MISMATCH between topolatent and PyTorch " + torch.__version__ + ":\n  " + "\n  ".join(failures))
        return 1
    if skipped:
        return 77
    print(f"topolatent and PyTorch {torch.__version__} agree on {', '.join(models)}: loss values, every gradient "
          f"(within {RTOL} of each tensor's scale), the batch-norm buffers and the parameters after the last Adam step "
          f"(atol {PARAMETER_ATOL_OF_LR} lr)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
