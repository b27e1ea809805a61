// Finite-difference check of every differentiable op in the op table, and the check that the table covers every
// op that core/ops.h declares. The analytic gradient of L = sum(op(inputs) * W), W fixed and random, must match a
// fourth-order central difference of L evaluated on the host in double precision: the only rounding left in the
// reference is the op's own float32 output, so the tolerance can be 1e-3 where a float loss needed 2e-2.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/op_cases.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

// Every function of the public op API: the names declared as `Tensor name(` in core/ops.h (operators excluded).
std::set<std::string> public_op_names() {
  std::ifstream header(std::string(TL_SOURCE_DIR) + "/core/ops.h");
  REQUIRE_MESSAGE(header.good(), "cannot read core/ops.h");
  std::stringstream text;
  text << header.rdbuf();
  const std::string source = text.str();
  const std::regex declaration(R"(\nTensor ([a-z_0-9]+)\()");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), declaration); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

// The op a case exercises: the longest op name that is the case's name or its prefix followed by '_'.
std::string op_of_case(const std::string& case_name, const std::set<std::string>& ops) {
  std::string best;
  for (const std::string& op : ops) {
    const bool matches = case_name == op || case_name.rfind(op + "_", 0) == 0;
    if (matches && op.size() > best.size()) best = op;
  }
  return best;
}

}  // namespace

TEST_CASE("every op's backward matches fourth-order finite differences of a double-precision loss") {
  constexpr float kEps = 1e-2f;  // inputs keep kKinkMargin = 0.05 > 2 kEps from every kink
  for (const OpCase& c : op_cases()) {
    SUBCASE(c.name.c_str()) {
      const std::vector<Tensor> inputs = make_inputs(c, Device::CPU, 1234);
      Generator generator(99);
      const Tensor weights = Tensor::uniform(c.run(inputs).shape(), generator, -1.0f, 1.0f);
      const std::vector<float> weight_values = weights.to_vector<float>();
      const auto host_loss = [&](const std::vector<Tensor>& x) {
        const std::vector<float> out = c.run(x).to_vector<float>();
        double total = 0.0;
        for (size_t i = 0; i < out.size(); ++i) total += double(out[i]) * double(weight_values[i]);
        return total;
      };

      sum(mul(c.run(inputs), weights)).backward();
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (!c.inputs[i].differentiable) continue;
        REQUIRE_MESSAGE(inputs[i].grad().defined(), c.name, ": input ", i, " received no gradient");
        const std::vector<double> numeric = numeric_gradient_fourth_order(host_loss, inputs, i, kEps);
        const std::vector<float> analytic = inputs[i].grad().to_vector<float>();
        check_close(analytic, std::vector<float>(numeric.begin(), numeric.end()), 1e-3, 1e-4,
                    c.name + ": d loss / d input " + std::to_string(i));
      }
    }
  }
}

TEST_CASE("the op table has a case for every op that core/ops.h declares, and no case for an unknown op") {
  const std::set<std::string> ops = public_op_names();
  REQUIRE(ops.size() >= 30);  // the header parsed: core/ops.h declares over thirty ops
  std::map<std::string, int> cases_per_op;
  for (const OpCase& c : op_cases()) {
    const std::string op = op_of_case(c.name, ops);
    CHECK_MESSAGE(!op.empty(), "op case ", c.name, " names no op of core/ops.h (name it op or op_variant)");
    ++cases_per_op[op];
  }
  for (const std::string& op : ops) CHECK_MESSAGE(cases_per_op[op] > 0, "no op case for ", op, " (tests/op_cases.cpp)");
}

}  // namespace tl::testing
