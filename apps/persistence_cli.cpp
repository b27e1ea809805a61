// tl_persistence: Vietoris-Rips persistence diagrams (H0, H1) of a point cloud or distance matrix file, printed in
// ripser's text form or as JSON, with the critical edges of every pair on request.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "core/base/error.h"
#include "nn/data/idx.h"
#include "nn/data/point_cloud_io.h"
#include "topology/persistence.h"

namespace {

const char* kUsage =
    "usage: tl_persistence FILE [options]\n"
    "  FILE                point cloud (.csv/.txt rows, .npy 2-D float array, IDX images such as\n"
    "                      t10k-images-idx3-ubyte.gz) or, with --format lower-distance, ripser's\n"
    "                      lower-triangular distance matrix\n"
    "  --format F          csv | npy | idx | lower-distance (default: from the file name)\n"
    "  --dim K             highest degree, 0 or 1 (default 1)\n"
    "  --threshold T       leave out edges longer than T (default: none; H1 stops at the enclosing radius)\n"
    "  --limit N           IDX input: use the first N images (default 512)\n"
    "  --edges             print each pair's critical edges\n"
    "  --json              JSON instead of ripser's text form\n"
    "  --time-limit S      give up the H1 reduction after S seconds (default: no limit)\n"
    "  --truncate          with --time-limit: print what was found instead of failing\n";

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

double number_arg(int argc, char** argv, int& i) {
  TL_CHECK_AS(ValueError, i + 1 < argc, argv[i], " needs a value");
  char* end = nullptr;
  const double value = std::strtod(argv[++i], &end);
  TL_CHECK_AS(ValueError, end != argv[i] && *end == '\0', argv[i - 1], ": '", argv[i], "' is not a number");
  return value;
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--format") {
      TL_CHECK_AS(ValueError, i + 1 < argc, "--format needs a value");
      args.format = argv[++i];
    } else if (a == "--dim") {
      args.options.max_dim = static_cast<int>(number_arg(argc, argv, i));
    } else if (a == "--threshold") {
      args.options.threshold = static_cast<float>(number_arg(argc, argv, i));
    } else if (a == "--limit") {
      args.limit = static_cast<long>(number_arg(argc, argv, i));
    } else if (a == "--time-limit") {
      args.options.time_limit_seconds = number_arg(argc, argv, i);
    } else if (a == "--truncate") {
      args.options.on_limit = tl::topology::OnLimit::Truncate;
    } else if (a == "--edges") {
      args.edges = true;
    } else if (a == "--json") {
      args.json = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      TL_CHECK_AS(ValueError, a.rfind("--", 0) != 0 && args.path.empty(), "unknown argument '", a, "'\n", kUsage);
      args.path = a;
    }
  }
  TL_CHECK_AS(ValueError, !args.path.empty(), "no input file given\n", kUsage);
  if (args.format.empty()) args.format = guess_format(args.path);
  return args;
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
  std::printf("{\"points\": %lld, \"enclosing_radius\": %.9g, \"h1_threshold\": %.9g, \"truncated\": %s,\n",
              static_cast<long long>(result.points), result.enclosing_radius, result.h1_threshold,
              result.truncated ? "true" : "false");
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
  try {
    const Args args = parse(argc, argv);
    tl::topology::PersistenceResult result;
    if (args.format == "lower-distance") {
      result = tl::topology::persistence_from_distances(tl::data::read_lower_distance(args.path), args.options);
    } else {
      tl::Tensor points;
      if (args.format == "csv") {
        points = tl::data::read_csv_points(args.path);
      } else if (args.format == "npy") {
        points = tl::data::read_npy_points(args.path);
      } else if (args.format == "idx") {
        points = tl::data::idx_images_as_points(tl::data::read_idx(args.path), args.limit);
      } else {
        TL_FAIL(ValueError, "unknown --format '", args.format, "' (csv, npy, idx or lower-distance)");
      }
      result = tl::topology::persistence(points, args.options);
    }
    if (args.json) {
      print_json(result, args.edges);
    } else {
      print_text(result, args.edges);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tl_persistence: %s\n", e.what());
    return 1;
  }
}
