// The layering rule of README.md, checked: every `#include "..."` of the sources goes from a layer to itself or to a
// layer below it. Layers, lowest first: base (core/base/) -> kernels -> core -> data (nn/data/) -> topology and nn
// -> apps and bench; tests may include anything but bench. Above kernels/, a public header (.h) may include only the
// host-device vocabulary headers kernels/*_impl.h (plain structs and enums such as Edge or OptimizerRule), never a
// backend table or a backend's own files; kernels/cpu/ and kernels/cuda/ never include each other.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tl::testing {
namespace {

using SourceFiles = std::map<std::string, std::string>;  // repository-relative path -> text

// The layer of a repository path ("" for files outside every layer: those are not checked).
std::string layer_of(const std::string& path) {
  const std::vector<std::pair<std::string, std::string>> prefixes = {
      {"core/base/", "base"}, {"kernels/", "kernels"},   {"core/", "core"},
      {"nn/data/", "data"},   {"topology/", "topology"}, {"nn/", "nn"},
      {"apps/", "apps"},      {"bench/", "bench"},       {"tests/", "tests"}};
  for (const auto& [prefix, layer] : prefixes)
    if (path.rfind(prefix, 0) == 0) return layer;
  return "";
}

const std::map<std::string, std::set<std::string>>& allowed_dependencies() {
  static const std::map<std::string, std::set<std::string>> allowed = {
      {"base", {"base"}},
      {"kernels", {"base", "kernels"}},
      {"core", {"base", "kernels", "core"}},
      {"data", {"base", "core", "data"}},
      {"topology", {"base", "kernels", "core", "topology"}},
      {"nn", {"base", "kernels", "core", "data", "nn"}},
      {"apps", {"base", "kernels", "core", "data", "topology", "nn", "apps"}},
      {"bench", {"base", "kernels", "core", "data", "topology", "nn", "apps", "bench"}},
      {"tests", {"base", "kernels", "core", "data", "topology", "nn", "apps", "tests"}}};
  return allowed;
}

bool is_public_header_above_kernels(const std::string& path, const std::string& layer) {
  const bool header = path.size() > 2 && path.compare(path.size() - 2, 2, ".h") == 0;
  const bool internal = path == "core/ops_internal.h";  // shared by the op files, not installed API
  return header && !internal && (layer == "core" || layer == "data" || layer == "topology" || layer == "nn");
}

bool is_vocabulary_header(const std::string& included) {
  static const std::regex vocabulary(R"(kernels/[a-z0-9_]+_impl\.h)");
  return std::regex_match(included, vocabulary);
}

// Every include edge that the rule forbids, as "file -> included (why)".
std::vector<std::string> layering_violations(const SourceFiles& files) {
  static const std::regex include(R"(#include\s+"([^"]+)\")");
  std::vector<std::string> violations;
  for (const auto& [path, text] : files) {
    const std::string layer = layer_of(path);
    if (layer.empty()) continue;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), include); it != std::sregex_iterator(); ++it) {
      const std::string included = (*it)[1];
      const std::string target = layer_of(included);
      if (target.empty()) continue;
      const auto edge = path + " -> " + included;
      if (allowed_dependencies().at(layer).count(target) == 0) {
        violations.push_back(edge + " (" + layer + " may not depend on " + target + ")");
      } else if (target == "kernels" && is_public_header_above_kernels(path, layer) &&
                 !is_vocabulary_header(included)) {
        violations.push_back(edge + " (a public header may include only kernels/*_impl.h)");
      } else if ((path.rfind("kernels/cpu/", 0) == 0 && included.rfind("kernels/cuda/", 0) == 0) ||
                 (path.rfind("kernels/cuda/", 0) == 0 && included.rfind("kernels/cpu/", 0) == 0)) {
        violations.push_back(edge + " (the CPU and CUDA backends are independent)");
      }
    }
  }
  return violations;
}

SourceFiles repository_sources() {
  namespace fs = std::filesystem;
  const fs::path root(TL_SOURCE_DIR);
  SourceFiles files;
  for (const char* folder : {"core", "kernels", "nn", "topology", "apps", "bench", "tests"}) {
    if (!fs::exists(root / folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string extension = entry.path().extension().string();
      if (!entry.is_regular_file() || (extension != ".h" && extension != ".cpp" && extension != ".cu")) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      files[fs::relative(entry.path(), root).generic_string()] = text.str();
    }
  }
  return files;
}

}  // namespace

TEST_CASE("every include of the repository follows the declared layering") {
  const SourceFiles files = repository_sources();
  REQUIRE(files.size() > 100);  // the walk found the sources
  REQUIRE(files.count("core/base/types.h") == 1);
  for (const std::string& violation : layering_violations(files)) FAIL_CHECK(violation);
}

TEST_CASE("the layering check reports each kind of forbidden include") {
  const SourceFiles files = {
      {"kernels/cpu/bad.cpp", "#include \"core/tensor.h\"\n#include \"kernels/cuda/cuda_kernels.h\"\n"},
      {"core/base/bad.h", "#include \"kernels/backend.h\"\n"},
      {"nn/data/bad.cpp", "#include \"nn/models.h\"\n#include \"topology/persistence.h\"\n"},
      {"topology/leaky.h", "#include \"kernels/topology_backend.h\"\n#include \"kernels/persistence_impl.h\"\n"},
      {"topology/fine.cpp", "#include \"kernels/topology_backend.h\"\n#include \"core/base/error.h\"\n"},
      {"apps/bad.cpp", "#include \"tests/test_support.h\"\n#include \"bench/timing.h\"\n"},
      {"tests/fine.cpp", "#include \"apps/trainer/trainer.h\"\n"},
      {"nn/data/kernel.cpp", "#include \"kernels/backend.h\"\n"},
      {"nn/sideways.cpp", "#include \"topology/persistence.h\"\n"}};
  const std::vector<std::string> violations = layering_violations(files);
  const std::set<std::string> expected = {
      "apps/bad.cpp -> bench/timing.h (apps may not depend on bench)",
      "apps/bad.cpp -> tests/test_support.h (apps may not depend on tests)",
      "core/base/bad.h -> kernels/backend.h (base may not depend on kernels)",
      "kernels/cpu/bad.cpp -> core/tensor.h (kernels may not depend on core)",
      "kernels/cpu/bad.cpp -> kernels/cuda/cuda_kernels.h (the CPU and CUDA backends are independent)",
      "nn/data/bad.cpp -> nn/models.h (data may not depend on nn)",
      "nn/data/bad.cpp -> topology/persistence.h (data may not depend on topology)",
      "nn/data/kernel.cpp -> kernels/backend.h (data may not depend on kernels)",
      "nn/sideways.cpp -> topology/persistence.h (nn may not depend on topology)",
      "topology/leaky.h -> kernels/topology_backend.h (a public header may include only kernels/*_impl.h)"};
  CHECK(std::set<std::string>(violations.begin(), violations.end()) == expected);
  CHECK(violations.size() == expected.size());
}

}  // namespace tl::testing
