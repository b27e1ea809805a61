// Central finite-difference check of every differentiable op in the op table: the analytic gradient of
// L = sum(op(inputs) * W), W fixed and random, must match (L(x + eps) - L(x - eps)) / 2 eps per element.
#include "tests/op_cases.h"
#include "tests/test_support.h"

namespace tl::testing {

TEST_CASE("every op's backward matches central finite differences") {
  constexpr float kEps = 1e-2f;  // float32 forward passes: a larger step keeps rounding noise below 1e-3
  for (const OpCase& c : op_cases()) {
    SUBCASE(c.name.c_str()) {
      const std::vector<Tensor> inputs = make_inputs(c, Device::CPU, 1234);
      Generator generator(99);
      const Tensor weights = Tensor::uniform(c.run(inputs).shape(), generator, -1.0f, 1.0f);
      const auto loss_of = [&](const std::vector<Tensor>& x) { return sum(mul(c.run(x), weights)); };

      loss_of(inputs).backward();
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (!c.inputs[i].differentiable) continue;
        const std::vector<float> numeric =
            numeric_gradient([&](const std::vector<Tensor>& x) { return loss_of(x).item(); }, inputs, i, kEps);
        REQUIRE_MESSAGE(inputs[i].grad().defined(), c.name, ": input ", i, " received no gradient");
        check_close(inputs[i].grad().to_vector<float>(), numeric, 2e-2, 2e-3,
                    c.name + ": d loss / d input " + std::to_string(i));
      }
    }
  }
}

TEST_CASE("the op table covers every op of the public API") {
  // Every op family must appear at least once (by name prefix); a new op without a case fails here.
  const std::vector<std::string> families = {"add_",
                                             "sub_",
                                             "mul_",
                                             "div_",
                                             "exp",
                                             "log",
                                             "sqrt",
                                             "pow_",
                                             "abs",
                                             "clamp",
                                             "relu",
                                             "leaky_relu",
                                             "elu",
                                             "sigmoid",
                                             "tanh",
                                             "softplus",
                                             "matmul_",
                                             "sum_",
                                             "mean_",
                                             "reshape",
                                             "transpose",
                                             "concat_",
                                             "slice_",
                                             "index_select_",
                                             "bce_with_logits",
                                             "mse_",
                                             "gaussian_kl",
                                             "conv2d_",
                                             "conv_transpose2d_",
                                             "log_softmax",
                                             "cross_entropy_"};
  for (const std::string& family : families) {
    bool found = false;
    for (const OpCase& c : op_cases()) found = found || c.name.rfind(family, 0) == 0;
    CHECK_MESSAGE(found, "no op case for ", family);
  }
}

}  // namespace tl::testing
