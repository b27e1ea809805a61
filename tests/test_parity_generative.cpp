// CPU-vs-CUDA parity of the GAN / diffusion layers and the DDPM / DDIM math: BatchNorm2d (training: output,
// gradients and running statistics; evaluation), GroupNorm, SiLU, Upsample2x, AvgPool2d, the timestep embedding,
// q_sample, predict_x0, the ancestral step (given noise, and drawn from the Philox generator on each device) and the
// DDIM step. Each case runs forward and backward on both devices from the same inputs; outputs and input gradients
// must agree. The four models of nn/generative_models.h likewise, built from one seed on each device: outputs,
// every parameter gradient and the batch norms' running statistics must agree. Needs a GPU: parity_main.cpp reports
// the executable as skipped (exit code 77) where there is none.
#include "nn/diffusion.h"
#include "nn/generative_models.h"
#include "nn/layers.h"
#include "tests/op_cases.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using Inputs = std::vector<Tensor>;

constexpr double kRtol = 1e-4, kAtol = 1e-5;

InputSpec any(Shape shape) {
  return in_range(std::move(shape), -1.0f, 1.0f);
}

// A BatchNorm2d on x's device with weight x[1] and bias x[2].
Tensor batch_norm2d(const Inputs& x, bool training, bool running_stats) {
  nn::BatchNorm2d norm(x[0].dim(1));
  norm.to(x[0].device());
  norm.weight = x[1];
  norm.bias = x[2];
  norm(x[0]);  // one training step moves the running statistics away from 0 and 1
  if (running_stats) return concat({norm.running_mean, norm.running_var}, 0);
  norm.train(training);
  return norm(x[0]);
}

std::vector<OpCase> layer_cases() {
  std::vector<OpCase> cases;
  // Batch statistics over 3 x 37 values per channel: not a multiple of any block size.
  const std::vector<InputSpec> bn = {any({3, 4, 5, 7}), in_range({4}, 0.5f, 1.5f), any({4})};
  cases.push_back({"batch_norm2d_train", bn, [](const Inputs& x) { return batch_norm2d(x, true, false); }});
  cases.push_back({"batch_norm2d_eval", bn, [](const Inputs& x) { return batch_norm2d(x, false, false); }});
  cases.push_back({"batch_norm2d_running_stats", bn, [](const Inputs& x) { return batch_norm2d(x, true, true); }});
  cases.push_back({"group_norm", {any({3, 6, 5, 3}), in_range({6}, 0.5f, 1.5f), any({6})}, [](const Inputs& x) {
                     nn::GroupNorm norm(2, 6);
                     norm.weight = x[1];
                     norm.bias = x[2];
                     return norm(x[0]);
                   }});
  cases.push_back({"silu", {in_range({257, 3}, -6.0f, 6.0f)}, [](const Inputs& x) {
                     return nn::apply_activation(nn::ActivationKind::Silu, x[0]);
                   }});
  cases.push_back({"upsample2x", {any({2, 3, 5, 7})}, [](const Inputs& x) { return nn::Upsample2x()(x[0]); }});
  cases.push_back({"avg_pool2d", {any({2, 3, 6, 8})}, [](const Inputs& x) { return nn::AvgPool2d(2)(x[0]); }});
  cases.push_back({"avg_pool2d_odd", {any({2, 3, 7, 5})}, [](const Inputs& x) { return nn::AvgPool2d(2)(x[0]); }});
  cases.push_back({"time_embedding", {any({1})}, [](const Inputs& x) {
                     return nn::SinusoidalTimeEmbedding(33).embed({0, 1, 7, 250, 999}, x[0].device());
                   }});
  // The diffusion math on a T = 1000 schedule, per-row timesteps where the function takes them.
  static const nn::NoiseSchedule schedule = nn::linear_noise_schedule(1000);
  cases.push_back({"q_sample", {any({3, 2, 4, 4}), any({3, 2, 4, 4})}, [](const Inputs& x) {
                     return nn::q_sample(schedule, x[0], {0, 400, 999}, x[1]);
                   }});
  cases.push_back({"predict_x0", {any({3, 10}), any({3, 10})}, [](const Inputs& x) {
                     return nn::predict_x0(schedule, x[0], {5, 500, 900}, x[1]);
                   }});
  cases.push_back({"ddpm_step_given_noise", {any({2, 9}), any({2, 9}), any({2, 9})}, [](const Inputs& x) {
                     return nn::ddpm_step(schedule, x[0], x[1], 321, x[2]);
                   }});
  cases.push_back({"ddpm_step_drawn_noise", {any({2, 300}), any({2, 300})}, [](const Inputs& x) {
                     Generator generator(77);
                     return nn::ddpm_step(schedule, x[0], x[1], 654, generator);
                   }});
  cases.push_back({"ddpm_step_last", {any({2, 9}), any({2, 9})}, [](const Inputs& x) {
                     return nn::ddpm_step(schedule, x[0], x[1], 0, Tensor());
                   }});
  cases.push_back({"ddim_step", {any({2, 9}), any({2, 9})}, [](const Inputs& x) {
                     return nn::ddim_step(schedule, x[0], x[1], 980, 960);
                   }});
  cases.push_back({"ddim_step_to_clean", {any({2, 9}), any({2, 9})}, [](const Inputs& x) {
                     return nn::ddim_step(schedule, x[0], x[1], 20, -1);
                   }});
  return cases;
}

// A model's output and every parameter gradient and buffer (copied to the CPU) after one forward pass on `device`
// and the backward pass of a fixed random projection of the output.
struct ModelPass {
  Tensor output;
  std::vector<std::pair<std::string, Tensor>> gradients, buffers;
};

template <class Model, class Run>
ModelPass model_pass(Model& model, Device device, const Run& run) {
  model.to(device);
  const Tensor output = run(model, device);
  Generator generator(7);
  sum(mul(output, Tensor::uniform(output.shape(), generator, -1.0f, 1.0f, device))).backward();
  ModelPass pass{output.to(Device::CPU), {}, {}};
  for (const auto& named : model.named_parameters()) {  // no structured binding: REQUIRE_MESSAGE captures it
    REQUIRE_MESSAGE(named.second->grad().defined(), named.first, ": no gradient on ",
                    device == Device::CPU ? "cpu" : "cuda");
    pass.gradients.emplace_back(named.first, named.second->grad().to(Device::CPU));
  }
  for (const auto& named : model.named_buffers()) pass.buffers.emplace_back(named.first, named.second->to(Device::CPU));
  return pass;
}

// Builds the model from one seed for each device and compares one forward and backward pass.
template <class Model, class Spec, class Run>
void check_model_parity(const Spec& spec, const Run& run, double rtol, double atol) {
  Generator cpu_init(5), cuda_init(5);
  Model cpu_model(spec, cpu_init), cuda_model(spec, cuda_init);
  const ModelPass cpu = model_pass(cpu_model, Device::CPU, run), cuda = model_pass(cuda_model, Device::CUDA, run);
  check_close(cuda.output, cpu.output, rtol, atol, "output");
  for (size_t i = 0; i < cpu.gradients.size(); ++i)
    check_close(cuda.gradients[i].second, cpu.gradients[i].second, rtol, atol, cpu.gradients[i].first + " gradient");
  for (size_t i = 0; i < cpu.buffers.size(); ++i)
    check_close(cuda.buffers[i].second, cpu.buffers[i].second, rtol, atol, cpu.buffers[i].first);
}

// Both halves of a GAN in one output: G(z) [4, data] beside D(x) [4, 1] on random data (D(G(z)) would put an
// untrained generator's near-uniform images at the discriminator's kinks, where rounding may pick either side).
Tensor gan_pass(nn::Gan& gan, Device device) {
  Generator generator(31);
  const Tensor z = Tensor::normal({4, gan.spec().noise_dim}, generator, 0.0f, 1.0f, device);
  const Tensor x = Tensor::uniform({4, gan.spec().data_dim}, generator, 0.0f, 1.0f, device);
  return concat({gan.generate(z), gan.discriminate(x)}, 1);
}

Tensor denoiser_pass(nn::Denoiser& denoiser, Device device) {
  Generator generator(32);
  const Tensor x = Tensor::normal({3, denoiser.spec().data_dim}, generator, 0.0f, 1.0f, device);
  return denoiser.predict(x, {0, 250, 999});
}

}  // namespace

TEST_CASE("the generative layers and the DDPM / DDIM steps agree on CPU and CUDA, forward and backward") {
  for (const OpCase& c : layer_cases()) {
    SUBCASE(c.name.c_str()) {
      check_op_parity(c, kRtol, kAtol);
    }
  }
}

TEST_CASE("a DDIM sample from the same seed is the same on CPU and CUDA") {
  const nn::NoiseSchedule schedule = nn::linear_noise_schedule(1000);
  const auto shrink = [](const Tensor& x, const std::vector<int64_t>&) { return x * 0.5f; };
  Generator on_cpu(21), on_gpu(21);
  const Tensor cpu = nn::ddim_sample(schedule, {4, 6}, 10, shrink, on_cpu, Device::CPU);
  const Tensor gpu = nn::ddim_sample(schedule, {4, 6}, 10, shrink, on_gpu, Device::CUDA);
  CHECK(gpu.device() == Device::CUDA);
  check_close(gpu, cpu, kRtol, kAtol, "ddim sample");
}

TEST_CASE("the GAN and denoiser models agree on CPU and CUDA: outputs, parameter gradients, running statistics") {
  // A convolution weight gradient sums batch x pixels (up to 3 x 784) products per entry, in a different order on
  // each device, and the batch norms divide by the statistics of 4 samples.
  constexpr double kModelTolerance = 1e-3;
  SUBCASE("mlp gan") {
    nn::GanSpec spec;
    spec.data_dim = 5;
    spec.noise_dim = 3;
    spec.hidden = {16, 8};
    spec.output = nn::ActivationKind::Tanh;
    check_model_parity<nn::Gan>(spec, gan_pass, kRtol, kAtol);
  }
  SUBCASE("dcgan (training mode)") {
    nn::GanSpec spec;
    spec.architecture = nn::GenerativeArchitecture::Conv28;
    spec.data_dim = 784;
    spec.noise_dim = 8;
    spec.channels = 4;
    spec.output = nn::ActivationKind::Sigmoid;
    check_model_parity<nn::Gan>(spec, gan_pass, kModelTolerance, kModelTolerance);
  }
  SUBCASE("mlp denoiser") {
    nn::DenoiserSpec spec;
    spec.data_dim = 4;
    spec.hidden = {16, 16};
    spec.time_dim = 8;
    check_model_parity<nn::Denoiser>(spec, denoiser_pass, kRtol, kAtol);
  }
  SUBCASE("u-net denoiser") {
    nn::DenoiserSpec spec;
    spec.architecture = nn::GenerativeArchitecture::Conv28;
    spec.data_dim = 784;
    spec.time_dim = 8;
    spec.channels = 8;
    check_model_parity<nn::Denoiser>(spec, denoiser_pass, kModelTolerance, kModelTolerance);
  }
}

}  // namespace tl::testing
