// Benchmark timing shared by the microbenchmarks: warm-up runs, then repeated runs until a time budget is
// spent, reporting the median.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace tl::bench {

// Median seconds of `body` after `warmup` untimed runs; at least `min_runs`, then until `budget_s` is spent.
template <class Body>
double median_seconds(Body&& body, int warmup = 3, int min_runs = 7, double budget_s = 0.5) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) body();
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < min_runs ||
         std::chrono::duration<double>(Clock::now() - start).count() < budget_s) {
    const auto t0 = Clock::now();
    body();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (times.size() >= 1000) break;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace tl::bench
