// The experiment's HTML page: see html_report.h. Every text that comes from a file (titles, claims, keys, errors)
// passes through html_escape; numbers are written with printf formats; pictures are read as bytes and embedded.
#include "apps/experiment/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "apps/trainer/checkpoint.h"

namespace tl::experiment {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- small helpers

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// A metric value: four significant digits, "nan" / "inf" spelled out.
std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return format("%.4g", value);
}

std::string coordinate(double value) {
  return format("%.2f", value);
}

bool is_number(const json& value) {
  return value.is_number();
}

std::string text_of(const json& object, const char* key, const std::string& fallback = "") {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string colour_hex(uint32_t colour) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%06x", static_cast<unsigned>(colour & 0xffffff));
  return buffer;
}

// Tableau-like colours for the arms, cycled.
uint32_t arm_colour(size_t index) {
  static const uint32_t colours[] = {0x1f77b4, 0xd62728, 0x2ca02c, 0x9467bd, 0xff7f0e, 0x8c564b, 0xe377c2, 0x17becf};
  return colours[index % (sizeof colours / sizeof colours[0])];
}

bool read_bytes(const std::string& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return false;
  bytes = buffer.str();
  return true;
}

json read_json_file(const std::string& path) {
  std::string bytes;
  if (!read_bytes(path, bytes)) return json();
  return json::parse(bytes, nullptr, false);  // discarded (is_discarded) when malformed
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

// ---------------------------------------------------------------- the summary's arms and runs

struct Arm {
  std::string name, label;
  json entry;
};

struct Run {
  std::string arm;
  json seed;
  std::string directory;  // absolute (output directory + relative)
  std::string status;
  json entry;
};

std::vector<Arm> arms_of(const json& summary) {
  std::vector<Arm> arms;
  if (summary.contains("arms") && summary["arms"].is_array()) {
    for (const json& a : summary["arms"]) {
      const std::string name = text_of(a, "name", "?");
      arms.push_back({name, text_of(a, "label", name), a});
    }
  }
  // Arms that only the metrics name (a summary without "arms").
  if (summary.contains("metrics") && summary["metrics"].is_object()) {
    for (const auto& item : summary["metrics"].items()) {
      const std::string name = item.key();
      if (std::none_of(arms.begin(), arms.end(), [&](const Arm& a) { return a.name == name; }))
        arms.push_back({name, name, json::object()});
    }
  }
  return arms;
}

std::vector<Run> runs_of(const json& summary, const std::string& output_directory) {
  std::vector<Run> runs;
  if (!summary.contains("runs") || !summary["runs"].is_array()) return runs;
  for (const json& r : summary["runs"]) {
    if (!r.is_object()) continue;
    Run run{text_of(r, "arm"), r.value("seed", json()), "", text_of(r, "status", "unknown"), r};
    std::string relative = text_of(r, "directory");
    if (relative.empty()) relative = run.arm + "/seed_" + text_of(r, "seed", "0");
    run.directory = fs::path(relative).is_absolute() ? relative : (fs::path(output_directory) / relative).string();
    runs.push_back(run);
  }
  return runs;
}

// The arm's runs in the summary's seed order (seeds it does not list last, in the runs' order).
std::vector<const Run*> arm_runs(const std::vector<Run>& runs, const std::string& arm, const json& seeds) {
  std::vector<const Run*> out;
  for (const Run& run : runs)
    if (run.arm == arm) out.push_back(&run);
  auto rank = [&](const Run* run) {
    if (seeds.is_array())
      for (size_t i = 0; i < seeds.size(); ++i)
        if (seeds[i] == run->seed) return i;
    return seeds.is_array() ? seeds.size() : size_t(0);
  };
  std::stable_sort(out.begin(), out.end(), [&](const Run* a, const Run* b) { return rank(a) < rank(b); });
  return out;
}

// The first run of the arm (in seed order) that did not fail and whose directory exists.
const Run* first_run(const std::vector<Run>& runs, const std::string& arm, const json& seeds) {
  for (const Run* run : arm_runs(runs, arm, seeds)) {
    std::error_code error;
    if (run->status != "failed" && fs::is_directory(run->directory, error)) return run;
  }
  return nullptr;
}

// ---------------------------------------------------------------- training logs

struct Log {
  std::map<double, json> steps;         // step -> the last record of that step
  std::map<double, double> validation;  // epoch -> validation loss
};

Log read_log(const std::string& path) {
  Log log;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json record = json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) continue;
    const auto step = record.find("step");
    if (step != record.end()) {
      if (step->is_number()) log.steps[step->get<double>()] = record;
    } else if (record.contains("epoch") && record["epoch"].is_number() && record.contains("validation_loss") &&
               record["validation_loss"].is_number()) {
      log.validation[record["epoch"].get<double>()] = record["validation_loss"].get<double>();
    }
  }
  return log;
}

std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& points,
                                                  size_t max_points) {
  if (max_points == 0 || points.size() <= max_points) return points;
  std::vector<std::pair<double, double>> out;
  const size_t n = points.size();
  for (size_t b = 0; b < max_points; ++b) {
    const size_t begin = b * n / max_points, end = (b + 1) * n / max_points;
    if (begin == end) continue;
    double x = 0.0, y = 0.0;
    for (size_t i = begin; i < end; ++i) {
      x += points[i].first;
      y += points[i].second;
    }
    out.emplace_back(x / double(end - begin), y / double(end - begin));
  }
  return out;
}

// Mean over logs at every x of the series each log yields.
std::vector<std::pair<double, double>> mean_series(const std::vector<std::map<double, double>>& series,
                                                   size_t max_points) {
  std::map<double, std::pair<double, int>> sums;
  for (const auto& s : series)
    for (const auto& [x, y] : s) {
      auto& slot = sums[x];
      slot.first += y;
      slot.second += 1;
    }
  std::vector<std::pair<double, double>> points;
  for (const auto& [x, slot] : sums) points.emplace_back(x, slot.first / slot.second);
  return downsample(points, max_points);
}

std::map<double, double> step_series(const Log& log, const std::string& key) {
  std::map<double, double> out;
  for (const auto& [step, record] : log.steps) {
    const auto it = record.find(key);
    if (it != record.end() && it->is_number() && std::isfinite(it->get<double>())) out[step] = it->get<double>();
  }
  return out;
}

// ---------------------------------------------------------------- SVG charts

struct Series {
  std::string name;
  uint32_t colour;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
  bool markers = false;
};

std::vector<double> ticks_of(const Axis& axis) {
  std::vector<double> ticks;
  const long count = std::lround((axis.high - axis.low) / axis.step);
  for (long i = 0; i <= count && i <= 100; ++i) ticks.push_back(axis.low + double(i) * axis.step);
  return ticks;
}

std::string tick_label(double value, double step) {
  if (std::fabs(value) < step * 1e-9) value = 0.0;
  const double magnitude = std::max(std::fabs(value), step);
  if (magnitude >= 1e6 || magnitude < 1e-3) return format("%.3g", value);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string svg_text(double x, double y, const std::string& text, const char* anchor, const char* extra = "") {
  return "<text x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
         html_escape(text) + "</text>";
}

// The frame, grid, ticks and labels of a chart of the given size; returns the mapping through px / py.
struct Frame {
  double width, height, left, right, top, bottom;
  Axis x, y;
  double px(double v) const { return left + (v - x.low) / (x.high - x.low) * (width - left - right); }
  double py(double v) const { return top + (y.high - v) / (y.high - y.low) * (height - top - bottom); }
};

std::string axes_svg(const Frame& f, const std::string& x_label, const std::string& y_label) {
  std::ostringstream svg;
  const double x0 = f.left, x1 = f.width - f.right, y0 = f.top, y1 = f.height - f.bottom;
  svg << "<g class=\"grid\">";
  for (double t : ticks_of(f.x))
    svg << "<line x1=\"" << coordinate(f.px(t)) << "\" y1=\"" << coordinate(y0) << "\" x2=\"" << coordinate(f.px(t))
        << "\" y2=\"" << coordinate(y1) << "\"/>";
  for (double t : ticks_of(f.y))
    svg << "<line x1=\"" << coordinate(x0) << "\" y1=\"" << coordinate(f.py(t)) << "\" x2=\"" << coordinate(x1)
        << "\" y2=\"" << coordinate(f.py(t)) << "\"/>";
  svg << "</g><rect class=\"frame\" x=\"" << coordinate(x0) << "\" y=\"" << coordinate(y0) << "\" width=\""
      << coordinate(x1 - x0) << "\" height=\"" << coordinate(y1 - y0) << "\"/>";
  svg << "<g class=\"ticks\">";
  for (double t : ticks_of(f.x)) svg << svg_text(f.px(t), y1 + 16, tick_label(t, f.x.step), "middle");
  for (double t : ticks_of(f.y)) svg << svg_text(x0 - 6, f.py(t) + 4, tick_label(t, f.y.step), "end");
  svg << "</g>";
  svg << svg_text((x0 + x1) / 2, f.height - 10, x_label, "middle", " class=\"label\"");
  const double cy = (y0 + y1) / 2;
  svg << "<text class=\"label\" x=\"14\" y=\"" << coordinate(cy)
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " << coordinate(cy) << ")\">" << html_escape(y_label)
      << "</text>";
  return svg.str();
}

std::string legend_svg(double x, double y, const std::vector<Series>& series) {
  std::ostringstream svg;
  svg << "<g class=\"legend\">";
  for (size_t i = 0; i < series.size(); ++i) {
    const double row = y + 18.0 * double(i);
    const std::string colour = colour_hex(series[i].colour);
    svg << "<line x1=\"" << coordinate(x) << "\" y1=\"" << coordinate(row) << "\" x2=\"" << coordinate(x + 22)
        << "\" y2=\"" << coordinate(row) << "\" stroke=\"" << colour << "\" stroke-width=\"2\""
        << (series[i].dashed ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    // Long names are cut to fit the margin; the full name is the entry's tooltip.
    std::string name = series[i].name;
    if (name.size() > 22) {
      size_t cut = 21;
      while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;  // a UTF-8 boundary
      name = name.substr(0, cut) + "\xe2\x80\xa6";                                      // an ellipsis
    }
    svg << "<g><title>" << html_escape(series[i].name) << "</title>" << svg_text(x + 28, row + 4, name, "start")
        << "</g>";
  }
  svg << "</g>";
  return svg.str();
}

std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const Series& s : series)
    for (const auto& [x, y] : s.points) {
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  if (!std::isfinite(x_min) || !std::isfinite(y_min)) return "";
  using L = ChartLayout;
  const Frame f{
      L::width, L::height, L::left, L::right, L::top, L::bottom, nice_axis(x_min, x_max), nice_axis(y_min, y_max)};
  std::ostringstream svg;
  svg << "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << L::width << ' ' << L::height
      << "\" width=\"" << L::width << "\" height=\"" << L::height << "\" role=\"img\" aria-label=\""
      << html_escape(title) << "\"><title>" << html_escape(title) << "</title>";
  svg << axes_svg(f, x_label, y_label);
  for (const Series& s : series) {
    const std::string colour = colour_hex(s.colour);
    svg << "<polyline class=\"series\" data-series=\"" << html_escape(s.name) << "\" fill=\"none\" stroke=\"" << colour
        << "\" stroke-width=\"1.5\"" << (s.dashed ? " stroke-dasharray=\"5 3\"" : "") << " points=\"";
    for (size_t i = 0; i < s.points.size(); ++i)
      svg << (i ? " " : "") << coordinate(f.px(s.points[i].first)) << ',' << coordinate(f.py(s.points[i].second));
    svg << "\"/>";
    if (s.markers || s.points.size() == 1)
      for (const auto& [x, y] : s.points)
        svg << "<circle cx=\"" << coordinate(f.px(x)) << "\" cy=\"" << coordinate(f.py(y)) << "\" r=\"3\" fill=\""
            << colour << "\"/>";
  }
  svg << legend_svg(L::width - L::right + 14, L::top + 10, series);
  svg << "</svg>";
  return svg.str();
}

// One persistence diagram (H0 and H1 points, the diagonal) as a square SVG.
std::string diagram_chart(const std::string& title, const json& diagram) {
  const double size = 340, left = 56, right = 16, top = 28, bottom = 46;
  struct Points {
    std::string name;
    uint32_t colour;
    std::vector<std::pair<double, double>> points;
  };
  std::vector<Points> degrees{{"H0", 0x1f77b4, {}}, {"H1", 0xff7f0e, {}}};
  double low = 0.0, high = -INFINITY;
  for (size_t d = 0; d < degrees.size(); ++d) {
    const std::string key = "h" + std::to_string(d);
    if (!diagram.is_object() || !diagram.contains(key) || !diagram[key].is_array()) continue;
    for (const json& pair : diagram[key]) {
      if (!pair.is_array() || pair.size() < 2 || !is_number(pair[0]) || !is_number(pair[1])) continue;
      const double b = pair[0].get<double>(), e = pair[1].get<double>();
      if (!std::isfinite(b) || !std::isfinite(e)) continue;
      degrees[d].points.emplace_back(b, e);
      low = std::min(low, b);
      high = std::max(high, e);
    }
  }
  if (!std::isfinite(high)) high = 1.0;
  const Axis axis = nice_axis(low, std::max(high, low));
  const Frame f{size, size, left, right, top, bottom, axis, axis};
  std::ostringstream svg;
  svg << "<svg class=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << size << ' ' << size
      << "\" width=\"" << size << "\" height=\"" << size << "\" role=\"img\" aria-label=\"" << html_escape(title)
      << "\"><title>" << html_escape(title) << "</title>";
  svg << svg_text(size / 2, 18, title, "middle", " class=\"label\"");
  svg << axes_svg(f, "birth", "death");
  svg << "<line class=\"diagonal\" x1=\"" << coordinate(f.px(axis.low)) << "\" y1=\"" << coordinate(f.py(axis.low))
      << "\" x2=\"" << coordinate(f.px(axis.high)) << "\" y2=\"" << coordinate(f.py(axis.high))
      << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>";
  for (const Points& d : degrees) {
    svg << "<g class=\"" << d.name << "\" fill=\"" << colour_hex(d.colour) << "\" fill-opacity=\"0.7\">";
    for (const auto& [b, e] : d.points)
      svg << "<circle cx=\"" << coordinate(f.px(b)) << "\" cy=\"" << coordinate(f.py(e)) << "\" r=\"2.5\"/>";
    svg << "</g>";
  }
  // Legend in the empty lower right triangle (below the diagonal).
  const double lx = f.px(axis.low + 0.55 * (axis.high - axis.low)), ly = size - bottom - 50;
  for (size_t d = 0; d < degrees.size(); ++d) {
    const double row = ly + 16.0 * double(d);
    svg << "<circle cx=\"" << coordinate(lx) << "\" cy=\"" << coordinate(row) << "\" r=\"4\" fill=\""
        << colour_hex(degrees[d].colour) << "\"/>"
        << svg_text(lx + 10, row + 4,
                    degrees[d].name + " (" + std::to_string(degrees[d].points.size()) +
                        (degrees[d].points.size() == 1 ? " pair)" : " pairs)"),
                    "start");
  }
  const double row = ly + 32.0;
  svg << "<line x1=\"" << coordinate(lx - 6) << "\" y1=\"" << coordinate(row) << "\" x2=\"" << coordinate(lx + 6)
      << "\" y2=\"" << coordinate(row) << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
      << svg_text(lx + 10, row + 4, "diagonal", "start");
  svg << "</svg>";
  return svg.str();
}

// ---------------------------------------------------------------- PNG embedding

// The PNG's width and height from its IHDR chunk; false when the bytes are not a PNG.
bool png_size(const std::string& bytes, uint32_t& width, uint32_t& height) {
  static const std::string signature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.size() < 24 || bytes.compare(0, 8, signature) != 0 || bytes.compare(12, 4, "IHDR") != 0) return false;
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
  };
  width = be32(16);
  height = be32(20);
  return width > 0 && height > 0;
}

std::string picture_caption(const std::string& file) {
  if (file == "latents.png") return "latent codes (principal plane, coloured by class)";
  if (file == "interpolation.png") return "interpolation: linear and geodesic paths, decoded";
  if (file.rfind("samples_", 0) == 0) return "samples from the " + file.substr(8, file.size() - 12) + " sampler";
  return file;
}

// latents.png, samples_*.png (sorted), interpolation.png, then any other PNG of the directory (sorted).
std::vector<std::string> pictures_in(const std::string& directory) {
  std::vector<std::string> all;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".png") == 0 && it->is_regular_file(error))
      all.push_back(name);
  }
  std::sort(all.begin(), all.end());
  auto rank = [](const std::string& name) {
    if (name == "latents.png") return 0;
    if (name.rfind("samples_", 0) == 0) return 1;
    if (name == "interpolation.png") return 2;
    return 3;
  };
  std::stable_sort(all.begin(), all.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return all;
}

// ---------------------------------------------------------------- metrics

// Metric groups in the page's order; other groups follow alphabetically.
const std::vector<std::string>& group_order() {
  static const std::vector<std::string> order{
      "reconstruction", "generation", "topology", "interpolation", "robustness", "embedding", "cost", "train", "log"};
  return order;
}

std::string group_of(const std::string& key) {
  return key.substr(0, key.find('.'));
}

size_t group_rank(const std::string& group) {
  const auto& order = group_order();
  const auto it = std::find(order.begin(), order.end(), group);
  return it == order.end() ? order.size() : size_t(it - order.begin());
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The key with every all-digit segment replaced by '#': the entries of one array share it.
std::string array_shape(const std::string& key) {
  std::string out, segment;
  std::istringstream in(key);
  bool first = true;
  while (std::getline(in, segment, '.')) {
    out += (first ? "" : ".") + (all_digits(segment) ? std::string("#") : segment);
    first = false;
  }
  return out;
}

// '*' matches any run of characters.
bool glob(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p, ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The headline metrics, in this order (those that exist).
const std::vector<std::string>& curated_patterns() {
  static const std::vector<std::string> patterns{"reconstruction.mse_per_feature",
                                                 "reconstruction.psnr_db",
                                                 "generation.samplers.*.frechet_distance",
                                                 "generation.samplers.*.precision",
                                                 "generation.samplers.*.recall",
                                                 "topology.data_vs_latent.h0_w1_mean",
                                                 "topology.data_vs_latent.h1_w1_mean",
                                                 "topology.data_vs_latent.topological_accuracy_mean",
                                                 "topology.real_vs_generated.h0_w1_mean",
                                                 "topology.real_vs_generated.h1_w1_mean",
                                                 "topology.real_vs_generated.h1_betti_generated_mean",
                                                 "interpolation.linear.length_ratio",
                                                 "interpolation.geodesic.length_ratio",
                                                 "interpolation.linear.reencoding_mse",
                                                 "robustness.clean_reconstruction_mse",
                                                 "embedding.kl_*",
                                                 "embedding.trustworthiness",
                                                 "embedding.continuity",
                                                 "embedding.mrre_zx",
                                                 "embedding.mrre_xz",
                                                 "embedding.rmse",
                                                 "cost.median_step_ms",
                                                 "cost.topology_share",
                                                 "train.median_step_ms",
                                                 "log.*"};
  return patterns;
}

std::string metric_cell(const json& entry) {
  if (!entry.is_object() || !is_number(entry.value("mean", json()))) return "<td class=\"missing\">&mdash;</td>";
  const double mean = entry["mean"].get<double>();
  std::string n = entry.contains("n") && is_number(entry["n"])             ? entry["n"].dump()
                  : entry.contains("values") && entry["values"].is_array() ? std::to_string(entry["values"].size())
                                                                           : std::string("?");
  std::string cell = number(mean);
  if (is_number(entry.value("std", json()))) cell += " &plusmn; " + number(entry["std"].get<double>());
  cell += " <span class=\"n\">(" + html_escape(n) + ")</span>";
  std::string title;
  if (entry.contains("ci95") && entry["ci95"].is_array() && entry["ci95"].size() == 2 && is_number(entry["ci95"][0]) &&
      is_number(entry["ci95"][1]))
    title = " title=\"95% interval [" + number(entry["ci95"][0].get<double>()) + ", " +
            number(entry["ci95"][1].get<double>()) + "]\"";
  return "<td class=\"num\"" + title + ">" + cell + "</td>";
}

std::string metric_table(const std::vector<std::string>& keys, const std::vector<Arm>& arms, const json& metrics,
                         bool group_rows) {
  std::ostringstream html;
  html << "<div class=\"wide\"><table class=\"metrics\"><thead><tr><th>metric</th>";
  for (const Arm& arm : arms) html << "<th>" << html_escape(arm.label) << "</th>";
  html << "</tr></thead><tbody>";
  std::string group;
  for (const std::string& key : keys) {
    if (group_rows && group_of(key) != group) {
      group = group_of(key);
      html << "<tr class=\"group\"><th colspan=\"" << arms.size() + 1 << "\">" << html_escape(group) << "</th></tr>";
    }
    html << "<tr><td class=\"key\">" << html_escape(key) << "</td>";
    for (const Arm& arm : arms) {
      const json* entry = nullptr;
      if (metrics.is_object() && metrics.contains(arm.name) && metrics[arm.name].is_object() &&
          metrics[arm.name].contains(key))
        entry = &metrics[arm.name][key];
      html << (entry ? metric_cell(*entry) : std::string("<td class=\"missing\">&mdash;</td>"));
    }
    html << "</tr>";
  }
  html << "</tbody></table></div>";
  return html.str();
}

// ---------------------------------------------------------------- sections

std::string claim_figure(const json& claim) {
  const std::string kind = text_of(claim, "kind");
  const std::string unit = kind == "relative" ? " %" : kind == "ratio" ? "&times;" : "";
  std::string out;
  if (is_number(claim.value("estimate", json())))
    out += "<b>" + number(claim["estimate"].get<double>()) + unit + "</b>";
  else
    out += "&mdash;";
  const json ci = claim.value("ci95", json());
  if (ci.is_array() && ci.size() == 2 && is_number(ci[0]) && is_number(ci[1]))
    out += " <span class=\"ci\">[" + number(ci[0].get<double>()) + ", " + number(ci[1].get<double>()) + "]</span>";
  if (claim.contains("pairs")) out += "<br><span class=\"n\">" + html_escape(text_of(claim, "pairs")) + " pairs</span>";
  return out;
}

std::string claim_comparison(const json& claim, const std::vector<Arm>& arms) {
  auto label = [&](const std::string& name) {
    for (const Arm& a : arms)
      if (a.name == name) return a.label;
    return name;
  };
  const std::string kind = text_of(claim, "kind");
  const std::string t = html_escape(label(text_of(claim, "treatment"))),
                    b = html_escape(label(text_of(claim, "baseline")));
  std::string low = text_of(claim, "low"), high = text_of(claim, "high");
  const json range = claim.value("range", json());
  if (range.is_array() && range.size() == 2) low = range[0].dump(), high = range[1].dump();
  std::string out = "<code>" + html_escape(text_of(claim, "metric", "?")) + "</code><br>";
  if (kind == "difference")
    out += t + " &minus; " + b + ", " + html_escape(text_of(claim, "better", "?")) + " is better";
  else if (kind == "relative")
    out += "100 (" + b + " &minus; " + t + ") / " + b + " in [" + html_escape(low) + ", " + html_escape(high) + "] %";
  else if (kind == "ratio")
    out += t + " / " + b + " in [" + html_escape(low) + ", " + html_escape(high) + "]";
  else
    out += html_escape(kind) + ": " + t + " vs " + b;
  return out;
}

std::string verdict_class(const std::string& verdict) {
  if (verdict == "reproduced") return "reproduced";
  if (verdict == "not reproduced") return "not-reproduced";
  return "inconclusive";
}

std::string header_section(const json& summary, const std::vector<Arm>& arms, const std::vector<Run>& runs) {
  std::ostringstream html;
  const std::string title = text_of(summary, "title", text_of(summary, "experiment", "Experiment"));
  html << "<header><h1>" << html_escape(title) << "</h1>";
  if (summary.contains("description"))
    html << "<p class=\"description\">" << html_escape(text_of(summary, "description")) << "</p>";
  html << "<dl class=\"facts\">";
  html << "<dt>Experiment</dt><dd><code>" << html_escape(text_of(summary, "experiment", "?")) << "</code></dd>";
  std::string profiles;
  if (summary.contains("profiles") && summary["profiles"].is_array())
    for (const json& p : summary["profiles"])
      profiles += (profiles.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : p.dump());
  html << "<dt>Profile</dt><dd><b>" << html_escape(text_of(summary, "profile", "?")) << "</b>"
       << (profiles.empty() ? "" : " (profiles: " + html_escape(profiles) + ")") << "</dd>";
  std::string seeds;
  if (summary.contains("seeds") && summary["seeds"].is_array())
    for (const json& s : summary["seeds"]) seeds += (seeds.empty() ? "" : ", ") + s.dump();
  html << "<dt>Seeds</dt><dd>" << html_escape(seeds.empty() ? "?" : seeds) << "</dd>";
  size_t done = 0, failed = 0;
  for (const Run& r : runs) {
    if (r.status == "done") ++done;
    if (r.status == "failed") ++failed;
  }
  html << "<dt>Runs</dt><dd>" << runs.size() << " (" << done << " done, " << failed << " failed)</dd>";
  html << "<dt>Generated</dt><dd>" << html_escape(utc_now()) << "</dd></dl>";
  html << "<h2 id=\"arms\">Arms</h2><table class=\"arms\"><thead><tr><th>arm</th><th>label</th><th>config</th>"
          "<th>overrides</th></tr></thead><tbody>";
  for (size_t i = 0; i < arms.size(); ++i) {
    const Arm& a = arms[i];
    std::string overrides;
    if (a.entry.contains("overrides") && a.entry["overrides"].is_array())
      for (const json& o : a.entry["overrides"])
        overrides += "<code>" + html_escape(o.is_string() ? o.get<std::string>() : o.dump()) + "</code> ";
    html << "<tr><td><span class=\"swatch\" style=\"background:" << colour_hex(arm_colour(i)) << "\"></span><code>"
         << html_escape(a.name) << "</code></td><td>" << html_escape(a.label) << "</td><td><code>"
         << html_escape(text_of(a.entry, "config")) << "</code></td><td>" << (overrides.empty() ? "&mdash;" : overrides)
         << "</td></tr>";
  }
  html << "</tbody></table></header>";
  return html.str();
}

std::string runs_section(const std::vector<Run>& runs) {
  if (runs.empty()) return "";
  std::ostringstream html;
  const bool any_failed = std::any_of(runs.begin(), runs.end(), [](const Run& r) { return r.status == "failed"; });
  html
      << "<details" << (any_failed ? " open" : "") << "><summary>Runs</summary><table class=\"runs\"><thead><tr>"
      << "<th>arm</th><th>seed</th><th>status</th><th>seconds</th><th>directory</th><th>error</th></tr></thead><tbody>";
  for (const Run& r : runs) {
    html << "<tr class=\"" << (r.status == "failed" ? "failed" : "") << "\"><td>" << html_escape(r.arm) << "</td><td>"
         << html_escape(r.seed.dump()) << "</td><td>" << html_escape(r.status) << "</td><td class=\"num\">"
         << (is_number(r.entry.value("seconds", json())) ? number(r.entry["seconds"].get<double>()) : "")
         << "</td><td><code>" << html_escape(text_of(r.entry, "directory")) << "</code></td><td>"
         << html_escape(text_of(r.entry, "error")) << "</td></tr>";
  }
  html << "</tbody></table></details>";
  return html.str();
}

std::string claims_section(const json& summary, const std::vector<Arm>& arms) {
  std::ostringstream html;
  html << "<section id=\"claims\"><h2>Claims</h2>";
  if (!summary.contains("claims") || !summary["claims"].is_array() || summary["claims"].empty()) {
    html << "<p class=\"missing\">The experiment states no claims.</p></section>";
    return html.str();
  }
  std::map<std::string, int> counts;
  for (const json& c : summary["claims"]) ++counts[verdict_class(text_of(c, "verdict", "inconclusive"))];
  html << "<p class=\"tally\"><span class=\"verdict reproduced\">" << counts["reproduced"]
       << " reproduced</span> <span class=\"verdict not-reproduced\">" << counts["not-reproduced"]
       << " not reproduced</span> <span class=\"verdict inconclusive\">" << counts["inconclusive"]
       << " inconclusive</span></p>";
  html << "<table class=\"claims\"><thead><tr><th>claim</th><th>source</th><th>compared</th>"
          "<th>our figure (95% interval)</th><th>verdict</th><th>reason</th></tr></thead><tbody>";
  for (const json& c : summary["claims"]) {
    const std::string verdict = text_of(c, "verdict", "inconclusive");
    html << "<tr class=\"claim\"><td>" << html_escape(text_of(c, "text")) << "</td><td class=\"source\">"
         << html_escape(text_of(c, "source")) << "</td><td>" << claim_comparison(c, arms) << "</td><td class=\"num\">"
         << claim_figure(c) << "</td><td><span class=\"verdict " << verdict_class(verdict) << "\">"
         << html_escape(verdict) << "</span></td><td>" << html_escape(text_of(c, "reason")) << "</td></tr>";
  }
  html << "</tbody></table></section>";
  return html.str();
}

std::string metrics_section(const json& summary, const std::vector<Arm>& arms) {
  std::ostringstream html;
  html << "<section id=\"metrics\"><h2>Metrics</h2>";
  const json metrics = summary.value("metrics", json::object());
  std::set<std::string> keys;
  if (metrics.is_object())
    for (const auto& [arm, values] : metrics.items())
      if (values.is_object())
        for (const auto& [key, entry] : values.items()) {
          (void)entry;
          keys.insert(key);
        }
  if (keys.empty()) {
    html << "<p class=\"missing\">No metrics: no run finished.</p></section>";
    return html.str();
  }
  std::set<std::string> claimed;
  if (summary.contains("claims") && summary["claims"].is_array())
    for (const json& c : summary["claims"]) claimed.insert(text_of(c, "metric"));
  // Per-k arrays (keys that share a shape with more than 8 others) stay out of the tables.
  std::map<std::string, int> shapes;
  for (const std::string& key : keys) ++shapes[array_shape(key)];
  std::vector<std::string> shown;
  size_t hidden = 0;
  for (const std::string& key : keys) {
    const std::string shape = array_shape(key);
    if (shape != key && shapes[shape] > 8 && !claimed.count(key))
      ++hidden;
    else
      shown.push_back(key);
  }
  std::stable_sort(shown.begin(), shown.end(), [](const std::string& a, const std::string& b) {
    return group_rank(group_of(a)) < group_rank(group_of(b)) ||
           (group_rank(group_of(a)) == group_rank(group_of(b)) && group_rank(group_of(a)) == group_order().size() &&
            group_of(a) < group_of(b));
  });
  // The headline table: the claims' metrics, then the curated patterns, in that order.
  std::vector<std::string> headline;
  auto add = [&](const std::string& key) {
    if (keys.count(key) && std::find(headline.begin(), headline.end(), key) == headline.end()) headline.push_back(key);
  };
  for (const std::string& key : claimed) add(key);
  for (const std::string& pattern : curated_patterns())
    for (const std::string& key : shown)
      if (glob(pattern, key)) add(key);
  html << "<p>Each cell: mean &plusmn; sample standard deviation over seeds (number of seeds); hover for the 95% "
          "interval.</p>";
  if (!headline.empty()) html << "<h3>Headline metrics</h3>" << metric_table(headline, arms, metrics, false);
  html << "<details class=\"all-metrics\"><summary>All " << shown.size() << " metrics by group"
       << (hidden ? " (" + std::to_string(hidden) + " per-k array entries left out)" : "") << "</summary>"
       << metric_table(shown, arms, metrics, true) << "</details></section>";
  return html.str();
}

std::string curves_section(const std::vector<Arm>& arms, const std::vector<Run>& runs, const json& seeds) {
  std::vector<Series> total, reconstruction, validation;
  std::string seed_counts;
  for (size_t i = 0; i < arms.size(); ++i) {
    std::vector<std::map<double, double>> totals, reconstructions, validations;
    for (const Run* run : arm_runs(runs, arms[i].name, seeds)) {
      const std::string path = run->directory + "/log.jsonl";
      std::error_code error;
      if (!fs::is_regular_file(path, error)) continue;
      const Log log = read_log(path);
      totals.push_back(step_series(log, "total"));
      reconstructions.push_back(step_series(log, "reconstruction"));
      if (!log.validation.empty()) validations.push_back(log.validation);
    }
    seed_counts += (seed_counts.empty() ? "" : ", ") + html_escape(arms[i].label) + ": " +
                   std::to_string(totals.size()) + (totals.size() == 1 ? " log" : " logs");
    Series t{arms[i].label, arm_colour(i), mean_series(totals, 300)};
    if (!t.points.empty()) total.push_back(t);
    Series r{arms[i].label, arm_colour(i), mean_series(reconstructions, 300)};
    if (!r.points.empty()) reconstruction.push_back(r);
    Series v{arms[i].label, arm_colour(i), mean_series(validations, 0)};
    v.markers = true;
    if (!v.points.empty()) validation.push_back(v);
  }
  std::ostringstream html;
  html << "<section id=\"curves\"><h2>Loss curves</h2>";
  if (total.empty()) {
    html << "<p class=\"missing\">No training log (log.jsonl) with step records was found.</p></section>";
    return html.str();
  }
  html << "<p>Mean over seeds at each step (at most 300 points: consecutive steps averaged; " << seed_counts
       << ").</p>";
  html << "<figure>" << line_chart("Total training loss", "step", "total loss", total)
       << "<figcaption>Total training loss</figcaption></figure>";
  if (!reconstruction.empty())
    html << "<figure>" << line_chart("Reconstruction term", "step", "reconstruction", reconstruction)
         << "<figcaption>Reconstruction term</figcaption></figure>";
  if (!validation.empty())
    html << "<figure>" << line_chart("Validation loss per epoch", "epoch", "validation loss", validation)
         << "<figcaption>Validation loss per epoch</figcaption></figure>";
  html << "</section>";
  return html.str();
}

std::string diagrams_section(const std::vector<Arm>& arms, const std::vector<Run>& runs, const json& seeds) {
  std::ostringstream body;
  for (const Arm& arm : arms) {
    const Run* run = first_run(runs, arm.name, seeds);
    if (!run) continue;
    const json diagrams = read_json_file(run->directory + "/diagrams.json");
    if (diagrams.is_discarded() || !diagrams.is_object()) continue;
    body << "<div class=\"arm-diagrams\"><h3>" << html_escape(arm.label) << " <span class=\"n\">(seed "
         << html_escape(run->seed.dump()) << ")</span></h3><div class=\"row\">";
    // The data batch, then its codes (an autoencoder) or generated samples ("generated_<sampler>": a GAN or a
    // diffusion model, whose diagrams.json has no codes).
    if (diagrams.contains("data")) body << diagram_chart("data batch", diagrams["data"]);
    if (diagrams.contains("latent")) body << diagram_chart("latent codes", diagrams["latent"]);
    for (const auto& [side, pairs] : diagrams.items())
      if (side.rfind("generated_", 0) == 0) body << diagram_chart("generated (" + side.substr(10) + ")", pairs);
    body << "</div></div>";
  }
  std::ostringstream html;
  html << "<section id=\"diagrams\"><h2>Persistence diagrams</h2>";
  const std::string content = body.str();
  if (content.empty())
    html << "<p class=\"missing\">No diagrams.json in the runs (written by tl_evaluate with plots on).</p>";
  else
    html << "<p>One evaluated data batch and its codes (or generated samples), first seed of each arm.</p>" << content;
  html << "</section>";
  return html.str();
}

std::string pictures_section(const std::vector<Arm>& arms, const std::vector<Run>& runs, const json& seeds) {
  std::ostringstream body;
  for (const Arm& arm : arms) {
    const Run* run = first_run(runs, arm.name, seeds);
    if (!run) continue;
    std::ostringstream figures;
    for (const std::string& file : pictures_in(run->directory)) {
      std::string bytes;
      uint32_t width = 0, height = 0;
      if (!read_bytes(run->directory + "/" + file, bytes) || !png_size(bytes, width, height)) continue;
      if (bytes.size() > (size_t(16) << 20)) continue;  // a page of reasonable size
      const std::string caption = picture_caption(file);
      figures << "<figure class=\"picture\"><img src=\"data:image/png;base64," << base64_encode(bytes) << "\" width=\""
              << width << "\" height=\"" << height << "\" alt=\"" << html_escape(caption) << "\"><figcaption>"
              << html_escape(caption) << " <code>" << html_escape(file) << "</code></figcaption></figure>";
    }
    if (figures.str().empty()) continue;
    body << "<div class=\"arm-pictures\"><h3>" << html_escape(arm.label) << " <span class=\"n\">(seed "
         << html_escape(run->seed.dump()) << ")</span></h3><div class=\"row\">" << figures.str() << "</div></div>";
  }
  std::ostringstream html;
  html << "<section id=\"pictures\"><h2>Pictures</h2>";
  const std::string content = body.str();
  if (content.empty())
    html << "<p class=\"missing\">No pictures in the runs (tl_evaluate ran with --no-plots).</p>";
  else
    html << content;
  html << "</section>";
  return html.str();
}

const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.description{max-width:60em}
.wide{overflow-x:auto}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.3em .6em;vertical-align:top;text-align:left}
thead th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.group th{background:#eef3f8;text-transform:capitalize}td.key{font-family:ui-monospace,monospace;font-size:.9em}
td.missing{color:#aaa;text-align:center}.n{color:#777;font-size:.88em}.ci{color:#555}
.verdict{display:inline-block;padding:.1em .5em;border-radius:.8em;font-weight:600;white-space:nowrap}
.verdict.reproduced{background:#d7f0d8;color:#1b5e20}.verdict.not-reproduced{background:#f8d7d7;color:#b71c1c}
.verdict.inconclusive{background:#fff0c2;color:#7a5a00}
tr.failed td{background:#fdeaea}.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}
p.missing{color:#777;font-style:italic}
figure{margin:.5em 1em .5em 0;display:inline-block;vertical-align:top}figcaption{font-size:.88em;color:#555}
.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid #eee}
svg{font-size:11px;background:#fff}svg .grid line{stroke:#eee}svg .frame{fill:none;stroke:#999}
svg .label{font-size:12px;fill:#333}svg text{fill:#444}
details{margin:.8em 0}summary{cursor:pointer;font-weight:600}
footer{margin-top:3em;color:#888;font-size:.85em}
)css";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Axis nice_axis(double min, double max, int target_ticks) {
  if (!std::isfinite(min) || !std::isfinite(max)) return {0.0, 1.0, 0.2};
  if (max < min) std::swap(min, max);
  if (max == min) {
    const double half = min == 0.0 ? 0.5 : 0.2 * std::fabs(min);
    min -= half;
    max += half;
  }
  const double raw = (max - min) / std::max(target_ticks, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double step = (fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0) * magnitude;
  const double low = std::floor(min / step + 1e-9) * step, high = std::ceil(max / step - 1e-9) * step;
  return {low, high > low ? high : low + step, step};
}

std::vector<std::pair<double, double>> mean_log_curve(const std::vector<std::string>& log_paths, const std::string& key,
                                                      size_t max_points) {
  std::vector<std::map<double, double>> series;
  for (const std::string& path : log_paths) series.push_back(step_series(read_log(path), key));
  return mean_series(series, max_points);
}

std::string write_html_report(const json& summary, const std::string& output_directory) {
  const std::vector<Arm> arms = arms_of(summary);
  const std::vector<Run> runs = runs_of(summary, output_directory);
  const json seeds = summary.value("seeds", json::array());
  const std::string title = text_of(summary, "title", text_of(summary, "experiment", "Experiment"));
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'\">"
       << "<title>" << html_escape(title) << "</title><style>" << kStyle << "</style></head><body>\n";
  html << header_section(summary, arms, runs) << "\n";
  html << "<nav><a href=\"#claims\">Claims</a> &middot; <a href=\"#metrics\">Metrics</a> &middot; <a "
          "href=\"#curves\">Loss curves</a> &middot; <a href=\"#diagrams\">Persistence diagrams</a> &middot; <a "
          "href=\"#pictures\">Pictures</a></nav>\n";
  html << claims_section(summary, arms) << "\n";
  html << metrics_section(summary, arms) << "\n";
  html << curves_section(arms, runs, seeds) << "\n";
  html << diagrams_section(arms, runs, seeds) << "\n";
  html << pictures_section(arms, runs, seeds) << "\n";
  html << runs_section(runs) << "\n";
  html << "<footer>Written by topolatent's tl_experiment from summary.json (docs/experiments.md).</footer>"
       << "</body></html>\n";
  std::error_code error;
  fs::create_directories(output_directory, error);
  const std::string path = (fs::path(output_directory) / "report.html").string();
  train::write_file_atomically(path, html.str());
  return path;
}

}  // namespace tl::experiment
