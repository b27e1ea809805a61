// The persistence engine against an external oracle: diagrams of fixture clouds computed by ripser and
// cross-checked with gudhi (tests/fixtures/make_persistence_fixtures.py wrote them; the outputs are committed).
#include <cmath>
#include <fstream>
#include <sstream>

#include "nn/data/point_cloud_io.h"
#include "tests/test_support.h"
#include "topology/persistence.h"

namespace tl::testing {
namespace {

const std::string kFixtureDir = std::string(TL_SOURCE_DIR) + "/tests/fixtures/persistence/";

// diagrams[k] = sorted (birth, death) pairs of H_k from a .diagrams file.
std::vector<std::vector<std::pair<double, double>>> read_oracle(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open fixture ", path);
  std::vector<std::vector<std::pair<double, double>>> diagrams;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    if (line.rfind("dim", 0) == 0) {
      diagrams.emplace_back();
      continue;
    }
    double birth, death;
    fields >> birth >> death;
    diagrams.back().emplace_back(birth, death);
  }
  return diagrams;
}

std::vector<std::pair<double, double>> ours_sorted(const topology::Diagram& diagram) {
  std::vector<std::pair<double, double>> pairs;
  for (const auto& p : diagram.pairs)
    if (p.death > p.birth) pairs.emplace_back(p.birth, p.death);
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

}  // namespace

TEST_CASE("diagrams equal the ripser and gudhi oracle on the fixture clouds") {
  for (const char* name : {"noisy_circle_80", "two_circles_100", "figure_eight_100", "torus_150", "uniform3d_120",
                           "gaussian16d_100", "gaussian50d_80"}) {
    CAPTURE(name);
    const Tensor points = data::read_csv_points(kFixtureDir + name + ".csv");
    const auto oracle = read_oracle(kFixtureDir + name + ".diagrams");
    const topology::PersistenceResult result = topology::persistence(points);
    REQUIRE(oracle.size() == 2);
    for (int k = 0; k < 2; ++k) {
      CAPTURE(k);
      const auto ours = ours_sorted(result.diagrams[k]);
      REQUIRE(ours.size() == oracle[k].size());
      for (size_t i = 0; i < ours.size(); ++i) {
        // The oracle computes distances in double and rounds once; ours are float32 sums: 1e-5 relative.
        CHECK(std::fabs(ours[i].first - oracle[k][i].first) <= 1e-5 * (1 + oracle[k][i].first));
        CHECK(std::fabs(ours[i].second - oracle[k][i].second) <= 1e-5 * (1 + oracle[k][i].second));
      }
    }
  }
}

}  // namespace tl::testing
