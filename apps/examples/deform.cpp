// tl_deform: TopoGen's synthetic experiment as a movie. A 2-D cloud is moved by plain gradient descent on one
// target-diagram term alone (W_1 between its diagram and the target, topology/regularizers.h) and every few
// steps a PNG frame is written: the cloud on the left, its H0 (blue) and H1 (red) diagram on the right.
//   tl_deform --out frames [--task open|close|split|merge] [--steps 300] [--every 10] [--rate 0.01] [--seed 5]
//   exit 0: frames written, 1: error
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "apps/plot/image.h"
#include "core/autograd.h"
#include "core/base/error.h"
#include "core/ops.h"
#include "nn/data/synthetic.h"
#include "topology/persistence.h"
#include "topology/regularizers.h"

namespace {

constexpr int kPanel = 320;  // pixels per side of each panel

// Left: the cloud in its bounding square; right: (birth, death) points under the diagonal's scale `top`.
tl::plot::Image draw_frame(const tl::Tensor& cloud, const tl::topology::PersistenceResult& result, float top) {
  tl::plot::Image image(2 * kPanel, kPanel);
  const std::vector<float> xy = cloud.to_vector<float>();
  float lo = xy[0], hi = xy[0];
  for (float v : xy) lo = std::min(lo, v), hi = std::max(hi, v);
  const float scale = (kPanel - 40) / std::max(hi - lo, 1e-6f);
  for (size_t i = 0; i + 1 < xy.size(); i += 2)
    image.dot(20 + static_cast<int>((xy[i] - lo) * scale), kPanel - 20 - static_cast<int>((xy[i + 1] - lo) * scale), 3,
              0x202020);
  const float diagram_scale = (kPanel - 40) / top;
  for (int t = 0; t < kPanel - 40; ++t) image.dot(kPanel + 20 + t, kPanel - 20 - t, 0, 0xa0a0a0);  // the diagonal
  const uint32_t colours[2] = {0x1f5fd0, 0xd02020};
  for (size_t k = 0; k < result.diagrams.size(); ++k)
    for (const auto& p : result.diagrams[k].pairs)
      image.dot(kPanel + 20 + static_cast<int>(std::min(p.birth, top) * diagram_scale),
                kPanel - 20 - static_cast<int>(std::min(p.death, top) * diagram_scale), 4, colours[k]);
  return image;
}

float longest_bar(const tl::topology::Diagram& d, float* birth) {
  float best = 0.0f;
  for (const auto& p : d.pairs)
    if (p.death - p.birth > best) best = p.death - p.birth, *birth = p.birth;
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Moves a 2-D cloud by gradient descent on a target-diagram term, writing PNG frames.", "tl_deform"};
  std::string out_dir, task = "open";
  int steps = 300, every = 10;
  float rate = 0.01f;
  uint64_t seed = 5;
  app.add_option("--out", out_dir, "directory of the frames")->required()->type_name("DIR");
  app.add_option("--task", task,
                 "open: a blob opens into a ring; close: a ring closes; split: a blob splits in two; "
                 "merge: two clusters merge")
      ->check(CLI::IsMember({"open", "close", "split", "merge"}))
      ->capture_default_str();
  app.add_option("--steps", steps, "gradient steps")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--every", every, "steps between frames")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--rate", rate, "step size")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--seed", seed, "seed of the start cloud")->capture_default_str();

  const auto body = [&] {
    std::filesystem::create_directories(out_dir);

    // The start cloud and the target diagram of each task (the same constructions as the deformation test).
    tl::Generator generator(seed);
    tl::Tensor cloud;
    tl::topology::TalsrOptions term;
    term.reference = tl::topology::TalsrReference::TargetDiagrams;
    term.weights = {1.0f};
    float birth = 0.0f;
    if (task == "close") {
      cloud = tl::data::noisy_circle(40, 0.5f, 0.03f, generator);
      term.dims = {1};
      term.target_diagrams = {tl::Tensor::zeros({0, 2})};
    } else if (task == "merge") {
      // Two clusters; the target is the cloud's own H0 diagram without its longest bar (the gap between them).
      const tl::Tensor shift = tl::Tensor::from_vector(std::vector<float>{1.0f, 0.0f}, {1, 2});
      const tl::Tensor left = tl::sub(tl::mul(tl::data::gaussian_cloud(20, 2, generator), 0.2f), shift);
      const tl::Tensor right = tl::add(tl::mul(tl::data::gaussian_cloud(20, 2, generator), 0.2f), shift);
      cloud = tl::concat({left, right}, 0);
      std::vector<float> deaths;
      const tl::topology::PersistenceResult start = tl::topology::persistence(cloud);
      for (const auto& p : start.diagrams[0].pairs) deaths.push_back(p.death);
      std::sort(deaths.begin(), deaths.end());
      deaths.pop_back();
      std::vector<float> target;
      for (float d : deaths) target.insert(target.end(), {0.0f, d});
      term.dims = {0};
      term.target_diagrams = {tl::Tensor::from_vector(target, {static_cast<int64_t>(deaths.size()), 2})};
    } else {
      cloud = tl::mul(tl::data::gaussian_cloud(task == "open" ? 60 : 40, 2, generator), task == "open" ? 0.3f : 0.2f);
      const int dim = task == "open" ? 1 : 0;
      const float length = longest_bar(tl::topology::persistence(cloud).diagrams[dim], &birth);
      term.dims = {dim};
      term.target_diagrams = {tl::Tensor::from_vector(std::vector<float>{birth, birth + 2.5f * length}, {1, 2})};
    }
    float top = 0.0f;
    for (const auto& d : tl::topology::persistence(cloud).diagrams)
      for (const auto& p : d.pairs) top = std::max(top, p.death);
    for (const float value : term.target_diagrams[0].to_vector<float>()) top = std::max(top, value);
    top *= 1.3f;

    for (int step = 0; step <= steps; ++step) {
      tl::Tensor leaf = cloud.clone().set_requires_grad(true);
      tl::Tensor loss = tl::topology::talsr_loss(tl::Tensor(), leaf, term);
      if (step % every == 0 || step == steps) {
        char name[64];
        std::snprintf(name, sizeof name, "/frame_%04d.png", step);
        tl::plot::write_png(out_dir + name, draw_frame(cloud, tl::topology::persistence(cloud), top));
        std::printf("step %4d  W1 to the target %.5f\n", step, loss.item());
      }
      if (step == steps) break;
      loss.backward();
      tl::NoGradGuard no_grad;
      cloud = tl::sub(cloud, tl::mul(leaf.grad(), rate));
    }
    std::printf("frames in %s\n", out_dir.c_str());
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
