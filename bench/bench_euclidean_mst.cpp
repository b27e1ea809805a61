// Euclidean minimum spanning tree benchmark (H0 of a large cloud without a distance matrix): reads a float32 [n, d]
// .npy cloud, runs topology::euclidean_mst --repeats times on the OpenMP threads it is given, and prints one line of
// JSON: the compute-only median seconds (the k-d tree included, the file read not), the edge count, the tree's total
// length (summed in double, for checking against other tools) and its longest edge. bench/compare_h0_large.py runs it
// once per process, beside mlpack's EMST, scipy and gudhi on the same clouds, and reads the process's peak memory
// itself.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "nn/data/point_cloud_io.h"
#include "topology/euclidean_mst.h"

int main(int argc, char** argv) {
  CLI::App app{"Times topology::euclidean_mst on one cloud"};
  std::string path;
  int repeats = 1;
  app.add_option("points", path, "float32 [n, d] .npy cloud")->required();
  app.add_option("--repeats", repeats, "timed runs (the median is printed)")->check(CLI::PositiveNumber);
  return tl::cli::run_main(app, argc, argv, [&] {
    const tl::Tensor cloud = tl::data::read_npy_points(path);
    const auto n = static_cast<int32_t>(cloud.dim(0)), dim = static_cast<int32_t>(cloud.dim(1));
    std::vector<double> seconds;
    std::vector<tl::kernels::WeightedEdge> tree;
    for (int run = 0; run < repeats; ++run) {
      const auto start = std::chrono::steady_clock::now();
      tree = tl::topology::euclidean_mst(cloud.data<float>(), n, dim);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    double total = 0.0;
    for (const tl::kernels::WeightedEdge& edge : tree) total += edge.length;
    std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
    const float longest = tree.empty() ? 0.0f : tree.back().length;  // the edges come in the filtration order
    std::printf("{\"seconds\": %.6f, \"edges\": %zu, \"total_length\": %.9g, \"longest\": %.9g, \"threads\": %d}\n",
                seconds[seconds.size() / 2], tree.size(), total, longest, omp_get_max_threads());
    return 0;
  });
}
