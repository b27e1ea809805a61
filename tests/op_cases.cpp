// The op-case table: every differentiable op of core/ops.h with the shapes and broadcasting variants it must
// handle; inputs stay inside each op's domain and away from its kinks. Also the CPU-vs-CUDA check the parity
// suites run on cases.
#include "tests/op_cases.h"

#include <cmath>

#include "tests/test_support.h"

namespace tl::testing {

InputSpec in_range(Shape shape, float low, float high) {
  InputSpec s;
  s.shape = std::move(shape);
  s.low = low;
  s.high = high;
  return s;
}

namespace {

using Inputs = std::vector<Tensor>;

InputSpec any(Shape shape) {
  return in_range(std::move(shape), -1.0f, 1.0f);
}
InputSpec positive(Shape shape) {
  return in_range(std::move(shape), 0.5f, 2.0f);
}
InputSpec kinked(Shape shape, std::vector<float> kinks) {
  InputSpec s = any(std::move(shape));
  s.kinks = std::move(kinks);
  return s;
}
InputSpec constant(Shape shape, float low, float high) {
  InputSpec s = in_range(std::move(shape), low, high);
  s.differentiable = false;
  return s;
}
InputSpec index_input(std::vector<int64_t> values) {
  InputSpec s = any({static_cast<int64_t>(values.size())});
  s.differentiable = false;
  s.index = std::move(values);
  return s;
}

OpCase unary_case(const std::string& name, InputSpec input, Tensor (*op)(const Tensor&)) {
  return {name, {std::move(input)}, [op](const Inputs& x) { return op(x[0]); }};
}

OpCase binary_case(const std::string& name, InputSpec a, InputSpec b, Tensor (*op)(const Tensor&, const Tensor&)) {
  return {name, {std::move(a), std::move(b)}, [op](const Inputs& x) { return op(x[0], x[1]); }};
}

OpCase matmul_case(bool ta, bool tb) {
  const int64_t m = 7, k = 19, n = 17;  // not multiples of the 6 x 16 micro-tile: edges are exercised
  Shape a = ta ? Shape{k, m} : Shape{m, k};
  Shape b = tb ? Shape{n, k} : Shape{k, n};
  const std::string name = std::string("matmul_") + (ta ? "t" : "n") + (tb ? "t" : "n");
  return {name, {any(a), any(b)}, [ta, tb](const Inputs& x) { return matmul(x[0], x[1], ta, tb); }};
}

std::vector<OpCase> build_cases() {
  std::vector<OpCase> cases;
  // Arithmetic, with each kind of broadcast.
  cases.push_back(binary_case("add_same_shape", any({3, 4}), any({3, 4}), add));
  cases.push_back(binary_case("add_row_broadcast", any({3, 4}), any({1, 4}), add));
  cases.push_back(binary_case("add_column_broadcast", any({3, 4}), any({3, 1}), add));
  cases.push_back(binary_case("add_scalar_tensor", any({3, 4}), any({}), add));
  cases.push_back(binary_case("add_rank3_broadcast", any({2, 1, 4}), any({3, 1}), add));
  cases.push_back(binary_case("sub_column_broadcast", any({3, 1}), any({3, 4}), sub));
  cases.push_back(binary_case("mul_row_broadcast", any({3, 4}), any({4}), mul));
  cases.push_back(binary_case("mul_same_shape", any({5, 3}), any({5, 3}), mul));
  cases.push_back(binary_case("div_row_broadcast", any({3, 4}), positive({1, 4}), div));
  cases.push_back(binary_case("div_scalar_numerator", positive({1}), positive({2, 3}), div));
  cases.push_back({"add_float", {any({3, 4})}, [](const Inputs& x) { return add(x[0], 0.75f); }});
  cases.push_back({"mul_float", {any({3, 4})}, [](const Inputs& x) { return mul(x[0], -1.5f); }});
  // Unary math and activations.
  cases.push_back(unary_case("exp", any({3, 4}), exp));
  cases.push_back(unary_case("log", positive({3, 4}), log));
  cases.push_back(unary_case("sqrt", positive({3, 4}), sqrt));
  cases.push_back({"pow_fractional", {positive({3, 4})}, [](const Inputs& x) { return pow(x[0], 2.5f); }});
  cases.push_back({"pow_square_signed", {any({3, 4})}, [](const Inputs& x) { return pow(x[0], 2.0f); }});
  cases.push_back(unary_case("abs", kinked({3, 4}, {0.0f}), abs));
  cases.push_back({"clamp", {kinked({4, 5}, {-0.4f, 0.3f})}, [](const Inputs& x) { return clamp(x[0], -0.4f, 0.3f); }});
  cases.push_back(unary_case("relu", kinked({3, 4}, {0.0f}), relu));
  cases.push_back({"leaky_relu", {kinked({3, 4}, {0.0f})}, [](const Inputs& x) { return leaky_relu(x[0], 0.1f); }});
  cases.push_back({"elu", {kinked({3, 4}, {0.0f})}, [](const Inputs& x) { return elu(x[0], 0.7f); }});
  cases.push_back(unary_case("sigmoid", in_range({3, 4}, -4.0f, 4.0f), sigmoid));
  cases.push_back(unary_case("tanh", in_range({3, 4}, -2.0f, 2.0f), tanh));
  cases.push_back(unary_case("softplus", in_range({3, 4}, -4.0f, 4.0f), softplus));
  // Matrix products, every transpose combination.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) cases.push_back(matmul_case(ta, tb));
  // Convolutions: stride 1 with padding, and stride 2 (the conv VAE's layers) with output padding.
  cases.push_back({"conv2d_stride1_pad1", {any({2, 3, 5, 6}), any({4, 3, 3, 3})}, [](const Inputs& x) {
                     return conv2d(x[0], x[1], 1, 1);
                   }});
  cases.push_back({"conv2d_stride2_pad1", {any({2, 2, 7, 7}), any({3, 2, 4, 4})}, [](const Inputs& x) {
                     return conv2d(x[0], x[1], 2, 1);
                   }});
  cases.push_back({"conv_transpose2d_stride2_pad1", {any({2, 3, 3, 4}), any({3, 2, 4, 4})}, [](const Inputs& x) {
                     return conv_transpose2d(x[0], x[1], 2, 1, 1);
                   }});
  // Row-wise log-softmax (large logits: the stabilised form must not overflow) and the classification loss.
  cases.push_back(
      {"log_softmax", {in_range({3, 5}, -30.0f, 30.0f)}, [](const Inputs& x) { return log_softmax(x[0]); }});
  cases.push_back({"cross_entropy_mean", {any({4, 3}), index_input({2, 0, 1, 2})}, [](const Inputs& x) {
                     return cross_entropy(x[0], x[1]);
                   }});
  // Reductions.
  cases.push_back({"sum_all", {any({3, 4})}, [](const Inputs& x) { return sum(x[0]); }});
  cases.push_back({"sum_axis0", {any({3, 4})}, [](const Inputs& x) { return sum(x[0], 0); }});
  cases.push_back({"sum_axis1_keepdim", {any({3, 4})}, [](const Inputs& x) { return sum(x[0], 1, true); }});
  cases.push_back({"sum_middle_axis", {any({2, 3, 4})}, [](const Inputs& x) { return sum(x[0], 1); }});
  cases.push_back({"mean_all", {any({3, 4})}, [](const Inputs& x) { return mean(x[0]); }});
  cases.push_back({"mean_last_axis", {any({2, 3, 4})}, [](const Inputs& x) { return mean(x[0], -1); }});
  // Layout.
  cases.push_back({"reshape", {any({3, 4})}, [](const Inputs& x) { return reshape(x[0], {2, -1}); }});
  cases.push_back(unary_case("transpose", any({3, 5}), transpose));
  cases.push_back({"concat_axis0", {any({2, 3}), any({1, 3}), any({3, 3})}, [](const Inputs& x) {
                     return concat({x[0], x[1], x[2]}, 0);
                   }});
  cases.push_back({"concat_axis1", {any({3, 2}), any({3, 4})}, [](const Inputs& x) {
                     return concat({x[0], x[1]}, 1);
                   }});
  cases.push_back({"slice_axis1", {any({3, 6})}, [](const Inputs& x) { return slice(x[0], 1, 2, 5); }});
  cases.push_back({"slice_rank3_axis0", {any({4, 2, 3})}, [](const Inputs& x) { return slice(x[0], 0, 1, 3); }});
  // Repeated indices: the backward scatter-add must accumulate them.
  cases.push_back({"index_select_rows_repeated", {any({4, 3}), index_input({2, 0, 2, 3, 2})}, [](const Inputs& x) {
                     return index_select(x[0], 0, x[1]);
                   }});
  cases.push_back({"index_select_columns", {any({3, 5}), index_input({4, 1, 1})}, [](const Inputs& x) {
                     return index_select(x[0], 1, x[1]);
                   }});
  // Losses; targets and log-variances are differentiable too.
  cases.push_back({"bce_with_logits_mean",
                   {in_range({4, 3}, -3.0f, 3.0f), in_range({4, 3}, 0.0f, 1.0f)},
                   [](const Inputs& x) { return bce_with_logits(x[0], x[1], Reduction::Mean); }});
  cases.push_back({"mse_loss_sum", {any({4, 3}), any({4, 3})}, [](const Inputs& x) {
                     return mse_loss(x[0], x[1], Reduction::Sum);
                   }});
  cases.push_back({"gaussian_kl_batch_mean", {any({4, 3}), any({4, 3})}, [](const Inputs& x) {
                     return gaussian_kl(x[0], x[1], Reduction::BatchMean);
                   }});
  cases.push_back({"bce_with_logits_constant_target",
                   {in_range({2, 5}, -3.0f, 3.0f), constant({2, 5}, 0.0f, 1.0f)},
                   [](const Inputs& x) { return bce_with_logits(x[0], x[1], Reduction::Sum); }});
  return cases;
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build_cases();
  return cases;
}

std::vector<Tensor> make_inputs(const OpCase& c, Device device, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> inputs;
  for (const InputSpec& spec : c.inputs) {
    if (!spec.index.empty()) {
      inputs.push_back(Tensor::from_vector(spec.index, spec.shape, device));
      continue;
    }
    std::vector<float> values = Tensor::uniform(spec.shape, generator, spec.low, spec.high).to_vector<float>();
    for (float& v : values) {
      for (float kink : spec.kinks) {
        if (std::fabs(v - kink) < kKinkMargin) v = kink + (v >= kink ? kKinkMargin : -kKinkMargin);
      }
    }
    Tensor t = Tensor::from_vector(values, spec.shape, device);
    if (spec.differentiable) t.set_requires_grad(true);
    inputs.push_back(t);
  }
  return inputs;
}

namespace {

struct ForwardBackward {
  Tensor output;
  std::vector<Tensor> grads;  // undefined for inputs without a gradient
};

ForwardBackward forward_backward(const OpCase& c, Device device) {
  const std::vector<Tensor> inputs = make_inputs(c, device, 4321);
  ForwardBackward run;
  run.output = c.run(inputs);
  if (run.output.requires_grad()) {
    Generator generator(7);
    const Tensor weights = Tensor::uniform(run.output.shape(), generator, -1.0f, 1.0f, device);
    sum(mul(run.output, weights)).backward();
  }
  for (const Tensor& input : inputs) run.grads.push_back(input.requires_grad() ? input.grad() : Tensor());
  return run;
}

}  // namespace

void check_op_parity(const OpCase& c, double rtol, double atol) {
  const ForwardBackward cpu = forward_backward(c, Device::CPU);
  const ForwardBackward gpu = forward_backward(c, Device::CUDA);
  CHECK(gpu.output.device() == Device::CUDA);
  check_close(gpu.output, cpu.output, rtol, atol, c.name + " forward");
  for (size_t i = 0; i < cpu.grads.size(); ++i) {
    if (!cpu.grads[i].defined()) continue;
    REQUIRE_MESSAGE(gpu.grads[i].defined(), c.name, ": no CUDA gradient for input ", i);
    check_close(gpu.grads[i], cpu.grads[i], rtol, atol, c.name + " gradient of input " + std::to_string(i));
  }
}

}  // namespace tl::testing
