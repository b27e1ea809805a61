// The experiment's self-contained HTML page (docs/experiments.md): header (title, description, profile, seeds,
// arms), the paper's claims with our verdicts, metric tables (arms side by side, "mean ± std (n)"), loss curves
// and persistence diagrams as inline SVG, and each arm's first-seed pictures embedded as data: URIs. Nothing on
// the page reaches the network: no external CSS, script, font or image.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace tl::experiment {

// Writes OUTPUT_DIRECTORY/report.html (atomically: temporary file, fsync, rename) from the summary and the run
// directories it names (relative to OUTPUT_DIRECTORY); returns the page's path. Optional run files (log.jsonl,
// diagrams.json, the pictures) that are missing or unreadable leave their section out or say that they are
// missing; a malformed summary field is shown as missing rather than refused.
std::string write_html_report(const nlohmann::json& summary, const std::string& output_directory);

// The pieces below are exposed for the tests.

// &, <, >, " and ' as HTML entities.
std::string html_escape(const std::string& text);

// RFC 4648 base64 with padding.
std::string base64_encode(const std::string& bytes);

// An axis covering [min, max] with ticks at multiples of a "nice" step (1, 2 or 5 times a power of ten) of at
// least (max - min) / target_ticks: low = floor(min / step) step, high = ceil(max / step) step. A zero-width range
// is widened around its value first (by 20 % of |value| on each side, or by 0.5 when the value is 0).
struct Axis {
  double low, high, step;
};
Axis nice_axis(double min, double max, int target_ticks = 5);

// The line charts' geometry in SVG user units: a value (x, y) is drawn at
//   left + (x - x_axis.low) / (x_axis.high - x_axis.low) * (width - left - right),
//   top + (y_axis.high - y) / (y_axis.high - y_axis.low) * (height - top - bottom),
// each written with two decimals; the legend sits in the right margin.
struct ChartLayout {
  static constexpr double width = 720, height = 360, left = 70, right = 180, top = 20, bottom = 50;
};

// The mean over seeds of one log.jsonl key at each step (each seed's last record of a step counts; a seed that
// lacks the step does not count there), sorted by step, then reduced to at most max_points by averaging steps and
// values over consecutive equal-sized buckets.
std::vector<std::pair<double, double>> mean_log_curve(const std::vector<std::string>& log_paths, const std::string& key,
                                                      size_t max_points = 300);

}  // namespace tl::experiment
