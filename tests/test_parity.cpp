// CPU-vs-CUDA parity: every op of the op table forward and backward (convolutions included), the same ops at sizes
// that leave a partial last thread block, convolutions at the model shapes, optimiser steps, large GEMMs and
// reductions, random fills, device copies, the caching allocator and the device errors (kernel edge cases are in
// test_parity_kernels.cpp). Needs a GPU:
// parity_main.cpp reports the whole executable as skipped (exit code 77, which CTest counts as skipped) where there is
// none.
#include <cmath>
#include <cstring>

#include "nn/optim.h"
#include "tests/op_cases.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

constexpr double kRtol = 1e-4, kAtol = 1e-5;

// Elementwise ops over n elements and log-softmax over rows x cols: n and the row lengths are not multiples of the
// 256-thread block, so the last block is partial.
std::vector<OpCase> partial_block_cases() {
  std::vector<OpCase> cases;
  for (const int64_t n : {257, 1000, 4097}) {
    const std::string size = "_" + std::to_string(n);
    const InputSpec any = in_range({n}, -2.0f, 2.0f), positive = in_range({n}, 0.5f, 2.0f);
    cases.push_back({"exp" + size, {any}, [](const std::vector<Tensor>& x) { return exp(x[0]); }});
    cases.push_back({"log" + size, {positive}, [](const std::vector<Tensor>& x) { return log(x[0]); }});
    cases.push_back({"tanh" + size, {any}, [](const std::vector<Tensor>& x) { return tanh(x[0]); }});
    cases.push_back({"sigmoid" + size, {any}, [](const std::vector<Tensor>& x) { return sigmoid(x[0]); }});
    cases.push_back({"softplus" + size, {any}, [](const std::vector<Tensor>& x) { return softplus(x[0]); }});
    cases.push_back({"relu" + size, {any}, [](const std::vector<Tensor>& x) { return relu(x[0]); }});
    cases.push_back({"mul" + size, {any, any}, [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }});
    cases.push_back({"div_scalar_broadcast" + size, {any, in_range({1}, 0.5f, 2.0f)}, [](const std::vector<Tensor>& x) {
                       return div(x[0], x[1]);
                     }});
    cases.push_back({"add_row_broadcast" + size,
                     {in_range({3, n}, -2.0f, 2.0f), any},
                     [](const std::vector<Tensor>& x) { return add(x[0], x[1]); }});
  }
  for (const auto& shape : {Shape{33, 1025}, Shape{1025, 33}, Shape{1, 4097}}) {
    cases.push_back({"log_softmax_" + std::to_string(shape[0]) + "x" + std::to_string(shape[1]),
                     {in_range(shape, -30.0f, 30.0f)},
                     [](const std::vector<Tensor>& x) { return log_softmax(x[0]); }});
  }
  return cases;
}

// The convolutions of the conv VAE (nn/models.cpp: encoder conv 1->32->64, 4 x 4, stride 2, padding 1; decoder
// transposed convs 64->32->1) and of the LeNet-style classifier (conv 1->6, 5 x 5, padding 2; conv 6->16, 5 x 5,
// stride 2), at batch 16, with the number of products summed per entry (the largest of forward, backward data and
// backward filter: the filter gradient sums over batch x output pixels).
struct ModelConv {
  OpCase c;
  int64_t terms;
};

std::vector<ModelConv> model_conv_cases() {
  using Inputs = std::vector<Tensor>;
  const int64_t b = 16;
  return {
      {{"vae_encoder_conv1",
        {in_range({b, 1, 28, 28}, -1, 1), in_range({32, 1, 4, 4}, -1, 1)},
        [](const Inputs& x) { return conv2d(x[0], x[1], 2, 1); }},
       b * 14 * 14},
      {{"vae_encoder_conv2",
        {in_range({b, 32, 14, 14}, -1, 1), in_range({64, 32, 4, 4}, -1, 1)},
        [](const Inputs& x) { return conv2d(x[0], x[1], 2, 1); }},
       b * 7 * 7},
      {{"vae_decoder_deconv1",
        {in_range({b, 64, 7, 7}, -1, 1), in_range({64, 32, 4, 4}, -1, 1)},
        [](const Inputs& x) { return conv_transpose2d(x[0], x[1], 2, 1, 0); }},
       b * 7 * 7},
      {{"vae_decoder_deconv2",
        {in_range({b, 32, 14, 14}, -1, 1), in_range({32, 1, 4, 4}, -1, 1)},
        [](const Inputs& x) { return conv_transpose2d(x[0], x[1], 2, 1, 0); }},
       b * 14 * 14},
      {{"classifier_conv1",
        {in_range({b, 1, 28, 28}, -1, 1), in_range({6, 1, 5, 5}, -1, 1)},
        [](const Inputs& x) { return conv2d(x[0], x[1], 1, 2); }},
       b * 28 * 28},
      {{"classifier_conv2",
        {in_range({b, 6, 28, 28}, -1, 1), in_range({16, 6, 5, 5}, -1, 1)},
        [](const Inputs& x) { return conv2d(x[0], x[1], 2, 0); }},
       b * 12 * 12},
  };
}

}  // namespace

TEST_CASE("every op agrees between CPU and CUDA forward and backward") {
  for (const OpCase& c : op_cases()) {
    SUBCASE(c.name.c_str()) {
      check_op_parity(c, kRtol, kAtol);
    }
  }
}

TEST_CASE("elementwise ops and log-softmax agree with the CPU at sizes with a partial last block") {
  for (const OpCase& c : partial_block_cases()) {
    SUBCASE(c.name.c_str()) {
      check_op_parity(c, kRtol, kAtol);
    }
  }
}

TEST_CASE("convolutions at the conv VAE's and the classifier's shapes agree with the CPU forward and backward") {
  for (const ModelConv& mc : model_conv_cases()) {
    // Entries are sums of up to `terms` products of magnitude <= 1, in different orders (cuDNN vs im2col + GEMM):
    // sqrt(terms) roundings of partial sums of size ~ sqrt(terms) / 3 differ by about terms x 2e-8. The tolerance
    // allows 50 times that; one product misplaced or dropped (size ~ 0.3) still fails.
    SUBCASE(mc.c.name.c_str()) {
      check_op_parity(mc.c, 1e-4, 1e-6 * static_cast<double>(mc.terms));
    }
  }
}

TEST_CASE("GEMM at model shapes agrees with the CPU GEMM in every transpose mode") {
  Generator generator(11);
  const int64_t shapes[][3] = {{128, 784, 400}, {128, 400, 784}, {512, 512, 512}, {128, 400, 20}};
  for (const auto& s : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const Tensor a = Tensor::uniform(ta ? Shape{s[2], s[0]} : Shape{s[0], s[2]}, generator, -1.0f, 1.0f);
        const Tensor b = Tensor::uniform(tb ? Shape{s[1], s[2]} : Shape{s[2], s[1]}, generator, -1.0f, 1.0f);
        const Tensor expected = matmul(a, b, ta, tb);
        const Tensor actual = matmul(a.to(Device::CUDA), b.to(Device::CUDA), ta, tb);
        // Entries are sums of k products of magnitude <= 1: absolute error scales with sqrt(k) eps.
        check_close(actual, expected, 1e-4, 1e-5 * std::sqrt(static_cast<double>(s[2])) * 10,
                    "gemm " + std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]));
      }
    }
  }
}

TEST_CASE("optimiser steps and the gradient norm on CUDA equal the CPU ones") {
  // Each rule; SGD also without momentum (no state buffer: m is null) and with Nesterov momentum. 4097 parameters:
  // a partial last block.
  struct Config {
    const char* name;
    kernels::OptimizerRule rule;
    float momentum;
    bool nesterov;
  };
  const Config configs[] = {{"sgd momentum 0.9", kernels::OptimizerRule::Sgd, 0.9f, false},
                            {"sgd without momentum", kernels::OptimizerRule::Sgd, 0.0f, false},
                            {"sgd nesterov 0.9", kernels::OptimizerRule::Sgd, 0.9f, true},
                            {"adam", kernels::OptimizerRule::Adam, 0.0f, false},
                            {"adamw", kernels::OptimizerRule::AdamW, 0.0f, false}};
  for (const Config& config : configs) {
    Generator generator(17);
    const Tensor start = Tensor::uniform({4097}, generator, -1.0f, 1.0f);
    std::vector<Tensor> gradients;
    for (int step = 0; step < 3; ++step) gradients.push_back(Tensor::uniform({4097}, generator, -1.0f, 1.0f));
    nn::OptimizerOptions options;
    options.rule = config.rule;
    options.momentum = config.momentum;
    options.nesterov = config.nesterov;
    options.weight_decay = 0.01f;
    std::vector<Tensor> finals;
    for (Device device : {Device::CPU, Device::CUDA}) {
      Tensor parameter = start.to(device);
      parameter.set_requires_grad(true);
      nn::Optimizer optimizer({{"p", &parameter}}, options);
      for (const Tensor& g : gradients) {
        parameter.zero_grad();
        parameter.accumulate_grad(g.to(device));
        optimizer.step();
      }
      finals.push_back(parameter.detach().to(Device::CPU));
    }
    check_close(finals[1], finals[0], 1e-5, 1e-6, std::string("optimiser ") + config.name);
  }
  // The gradient norm (a CUB transform-reduce on CUDA) against the CPU's chunked double sum.
  Generator generator(18);
  Tensor cpu = Tensor::zeros({100000}).set_requires_grad(true), gpu = Tensor::zeros({100000}, Device::CUDA);
  gpu.set_requires_grad(true);
  const Tensor gradient = Tensor::uniform({100000}, generator, -1.0f, 1.0f);
  cpu.accumulate_grad(gradient);
  gpu.accumulate_grad(gradient.to(Device::CUDA));
  CHECK(nn::gradient_norm({gpu}) == doctest::Approx(nn::gradient_norm({cpu})).epsilon(1e-9));
}

TEST_CASE("large reductions agree between CPU and CUDA") {
  Generator generator(12);
  const Tensor x = Tensor::uniform({1024, 1025}, generator, -1.0f, 1.0f);
  const Tensor xg = x.to(Device::CUDA);
  check_close(sum(xg), sum(x), 1e-4, 1e-2, "sum of 1M elements");
  check_close(sum(xg, 0), sum(x, 0), 1e-5, 1e-5, "column sums");
  check_close(sum(xg, 1), sum(x, 1), 1e-5, 1e-5, "row sums");
}

TEST_CASE("random fills are identical on CPU and CUDA") {
  Generator cpu_gen(2024), gpu_gen(2024);
  const Tensor u_cpu = Tensor::uniform({1000, 37}, cpu_gen, -2.0f, 3.0f);
  const Tensor u_gpu = Tensor::uniform({1000, 37}, gpu_gen, -2.0f, 3.0f, Device::CUDA);
  const std::vector<float> a = u_cpu.to_vector<float>(), b = u_gpu.to_vector<float>();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(cpu_gen.offset() == gpu_gen.offset());

  const std::vector<float> n_cpu = Tensor::normal({1000, 37}, cpu_gen).to_vector<float>();
  const std::vector<float> n_gpu = Tensor::normal({1000, 37}, gpu_gen, 0.0f, 1.0f, Device::CUDA).to_vector<float>();
  size_t max_ulps = 0;
  for (size_t i = 0; i < n_cpu.size(); ++i) {
    int32_t ia, ib;
    std::memcpy(&ia, &n_cpu[i], 4);
    std::memcpy(&ib, &n_gpu[i], 4);
    max_ulps = std::max<size_t>(max_ulps, static_cast<size_t>(std::abs(static_cast<int64_t>(ia) - ib)));
  }
  CHECK(max_ulps <= 1);
}

TEST_CASE("index_select backward on CUDA is deterministic and matches the CPU") {
  Generator generator(13);
  const Tensor x = Tensor::uniform({50, 64}, generator);
  std::vector<int64_t> index(4000);
  for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int64_t>((i * 7919) % 50);
  const Tensor idx = Tensor::from_vector(index, {4000});
  const Tensor upstream = Tensor::uniform({4000, 64}, generator);
  auto grad_on = [&](Device device) {
    Tensor xd = x.to(device).set_requires_grad(true);
    sum(mul(index_select(xd, 0, idx.to(device)), upstream.to(device))).backward();
    return xd.grad().to_vector<float>();
  };
  const std::vector<float> first = grad_on(Device::CUDA), second = grad_on(Device::CUDA);
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
  check_close(first, grad_on(Device::CPU), 1e-5, 1e-5, "scatter-add gradient");
}

TEST_CASE("device copies round-trip every dtype") {
  const Tensor f = Tensor::from_vector<float>({1.5f, -2.0f, 3.25f}, {3});
  const Tensor i32 = Tensor::from_vector<int32_t>({7, -8, 9}, {3});
  const Tensor i64 = Tensor::from_vector<int64_t>({int64_t(1) << 40, -5}, {2});
  CHECK(f.to(Device::CUDA).to(Device::CPU).to_vector<float>() == f.to_vector<float>());
  CHECK(i32.to(Device::CUDA).clone().to_vector<int32_t>() == i32.to_vector<int32_t>());
  CHECK(i64.to(Device::CUDA).to_vector<int64_t>() == i64.to_vector<int64_t>());
}

TEST_CASE("the caching allocator reuses freed blocks") {
  { const Tensor warm = Tensor::zeros({1000, 1000}, Device::CUDA); }
  const size_t before = cuda_runtime::cache_stats().device_allocations;
  for (int i = 0; i < 10; ++i) {
    const Tensor t = Tensor::zeros({1000, 1000}, Device::CUDA);
  }
  CHECK(cuda_runtime::cache_stats().device_allocations == before);
  cuda_runtime::empty_cache();
  CHECK(cuda_runtime::cache_stats().bytes_cached == 0);
}

TEST_CASE("device errors name the devices and the size") {
  const Tensor a = Tensor::ones({2, 2});
  const Tensor b = Tensor::ones({2, 2}, Device::CUDA);
  const std::string mismatch = error_message([&] { add(a, b); });
  CHECK(mismatch.find("float32 [2, 2] on cpu") != std::string::npos);
  CHECK(mismatch.find("float32 [2, 2] on cuda") != std::string::npos);
  const std::string oom = error_message([] { Tensor::empty({int64_t(1) << 40}, Device::CUDA); });
  CHECK(oom.find("out of CUDA memory") != std::string::npos);
  CHECK(oom.find("4398046511104 bytes") != std::string::npos);
}

}  // namespace tl::testing
