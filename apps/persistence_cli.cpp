// tl_persistence: Vietoris-Rips persistence diagrams (H0, H1) of a point cloud or distance matrix file, printed in
// ripser's text form or as JSON, with the critical edges of every pair on request.
//
//   tl_persistence FILE [--format F] [--dim K] [--threshold T] [--sparse] [--limit N] [--edges] [--json]
//                  [--time-limit S] [--memory-limit B] [--truncate]                  exit 0: printed, 1: error
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/cli/cli.h"
#include "core/base/error.h"
#include "nn/data/idx.h"
#include "nn/data/point_cloud_io.h"
#include "topology/persistence.h"

namespace {

struct Args {
  std::string path, format;
  tl::topology::PersistenceOptions options;
  long limit = 512;
  bool edges = false, json = false;
};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::string guess_format(const std::string& path) {
  if (ends_with(path, ".npy")) return "npy";
  if (path.find("idx") != std::string::npos || path.find("ubyte") != std::string::npos) return "idx";
  return "csv";
}

// Declares the options into `app`; the format is guessed from the file name after parsing when not given.
void add_options(CLI::App& app, Args& args) {
  app.add_option("FILE", args.path,
                 "point cloud (.csv/.txt rows, .npy 2-D float array, IDX images such as t10k-images-idx3-ubyte.gz) "
                 "or, with --format lower-distance, ripser's lower-triangular distance matrix")
      ->required();
  app.add_option("--format", args.format, "input format (default: from the file name)")
      ->check(CLI::IsMember({"csv", "npy", "idx", "lower-distance"}));
  app.add_option("--dim", args.options.max_dim, "highest degree, 0 or 1")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  app.add_option("--threshold", args.options.threshold,
                 "leave out edges longer than T (default: none; H1 stops at the enclosing radius)")
      ->type_name("T");
  app.add_flag("--sparse", args.options.sparse,
               "points only: compute from the edges within the threshold (k-d tree, exact Euclidean spanning tree) "
               "instead of an n x n distance matrix, for large clouds (H0 of millions of points; H1 of up to 65,536 "
               "with a threshold); the same diagrams");
  app.add_option("--limit", args.limit, "IDX input: use the first N images (N >= 1)")
      ->type_name("N")
      ->check(tl::cli::positive())
      ->capture_default_str();
  app.add_flag("--edges", args.edges, "print each pair's critical edges");
  app.add_flag("--json", args.json, "JSON instead of ripser's text form");
  app.add_option("--time-limit", args.options.time_limit_seconds,
                 "give up after S seconds of the whole run (default: no limit)")
      ->type_name("S");
  app.add_option("--memory-limit", args.options.memory_limit_bytes,
                 "stop when the run's large buffers (distance matrices, H1 columns, reduction) would pass B bytes; "
                 "suffixes such as 512MiB or 4GB (default: no limit)")
      ->type_name("B")
      ->transform(CLI::AsSizeValue(false));
  app.add_flag_callback(
      "--truncate", [&args] { args.options.on_limit = tl::topology::OnLimit::Truncate; },
      "with --time-limit or --memory-limit: print what was found instead of failing");
}

void print_edge(const tl::topology::Edge& e) {
  std::printf("[%d,%d]", e.u, e.v);
}

void print_text(const tl::topology::PersistenceResult& result, bool edges) {
  for (const tl::topology::Diagram& diagram : result.diagrams) {
    std::printf("persistence intervals in dim %d:\n", diagram.dim);
    for (const tl::topology::PersistencePair& p : diagram.pairs) {
      if (diagram.dim == 0 && p.death == 0.0f && !edges) continue;  // ripser leaves out zero-length H0 bars
      std::printf(" [%.9g,%.9g)", p.birth, p.death);
      if (edges) {
        if (diagram.dim > 0) {
          std::printf(" birth edge ");
          print_edge(p.birth_edge);
        }
        std::printf(" death edge ");
        print_edge(p.death_edge);
      }
      std::printf("\n");
    }
    for (const tl::topology::EssentialBar& bar : diagram.essential) {
      std::printf(" [%.9g, )", bar.birth);
      if (edges && diagram.dim > 0) {
        std::printf(" birth edge ");
        print_edge(bar.birth_edge);
      }
      std::printf("\n");
    }
  }
  if (result.truncated) std::printf("# truncated: %s\n", result.truncation_reason.c_str());
}

void print_json(const tl::topology::PersistenceResult& result, bool edges) {
  // A value that is not finite is null: an enclosing radius the sparse path did not compute (H0 only, or a time
  // limit that passed first), and the H1 threshold taken from it.
  const auto number = [](float value) {
    char text[32] = "null";
    if (std::isfinite(value)) std::snprintf(text, sizeof text, "%.9g", value);
    return std::string(text);
  };
  std::printf("{\"points\": %lld, \"enclosing_radius\": %s, \"h1_threshold\": %s, \"truncated\": %s,\n",
              static_cast<long long>(result.points), number(result.enclosing_radius).c_str(),
              number(result.h1_threshold).c_str(), result.truncated ? "true" : "false");
  if (result.truncated)
    std::printf(" \"truncation_reason\": %s,\n", nlohmann::json(result.truncation_reason).dump().c_str());
  std::printf(" \"diagrams\": [\n");
  for (size_t k = 0; k < result.diagrams.size(); ++k) {
    const tl::topology::Diagram& diagram = result.diagrams[k];
    std::printf("  {\"dim\": %d, \"pairs\": [", diagram.dim);
    for (size_t i = 0; i < diagram.pairs.size(); ++i) {
      const tl::topology::PersistencePair& p = diagram.pairs[i];
      std::printf("%s\n    {\"birth\": %.9g, \"death\": %.9g", i ? "," : "", p.birth, p.death);
      if (edges) {
        if (diagram.dim > 0) std::printf(", \"birth_edge\": [%d, %d]", p.birth_edge.u, p.birth_edge.v);
        std::printf(", \"death_edge\": [%d, %d]", p.death_edge.u, p.death_edge.v);
      }
      std::printf("}");
    }
    std::printf("],\n   \"essential\": [");
    for (size_t i = 0; i < diagram.essential.size(); ++i) {
      const tl::topology::EssentialBar& bar = diagram.essential[i];
      std::printf("%s{\"birth\": %.9g", i ? ", " : "", bar.birth);
      if (edges && diagram.dim > 0) std::printf(", \"birth_edge\": [%d, %d]", bar.birth_edge.u, bar.birth_edge.v);
      std::printf("}");
    }
    std::printf("]}%s\n", k + 1 < result.diagrams.size() ? "," : "");
  }
  std::printf(" ]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vietoris-Rips persistence diagrams (H0, H1) of a point cloud or distance matrix file.",
               "tl_persistence"};
  Args args;
  add_options(app, args);
  const auto body = [&] {
    if (args.format.empty()) args.format = guess_format(args.path);
    TL_CHECK_AS(ValueError, !(args.options.sparse && args.format == "lower-distance"),
                "--sparse takes point clouds (its graph comes from the points), not --format lower-distance");
    tl::topology::PersistenceResult result;
    if (args.format == "lower-distance") {
      result = tl::topology::persistence_from_distances(tl::data::read_lower_distance(args.path), args.options);
    } else {
      tl::Tensor points;
      if (args.format == "csv") {
        points = tl::data::read_csv_points(args.path);
      } else if (args.format == "npy") {
        points = tl::data::read_npy_points(args.path);
      } else {
        points = tl::data::idx_images_as_points(tl::data::read_idx(args.path), args.limit);
      }
      result = tl::topology::persistence(points, args.options);
    }
    if (args.json) {
      print_json(result, args.edges);
    } else {
      print_text(result, args.edges);
    }
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
