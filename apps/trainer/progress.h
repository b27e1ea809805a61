// Progress and timing of a training run: a one-line progress bar with the running loss terms and the ETA, wall
// clocks in milliseconds, and the median of a run's step times.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tl::train {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point since);

// The median (the upper one of an even count); 0 for no values.
double median(std::vector<double> values);

// "H:MM:SS", rounded to the second.
std::string clock_text(double seconds);

// A one-line progress bar on stderr, redrawn in place on a terminal; elsewhere one line per tenth of an epoch.
class ProgressBar {
 public:
  ProgressBar(bool enabled, int64_t total_steps);

  // Shows `step` of the run (1-based, after it finished) with each term's mean over the epoch so far and the
  // median of the step times in milliseconds.
  void update(int64_t step, int64_t epoch, int64_t epochs, int64_t steps_per_epoch,
              const std::vector<std::pair<std::string, double>>& terms, const std::vector<double>& step_ms);

 private:
  bool due(int64_t step, int64_t steps_per_epoch, Clock::time_point now) const;

  bool enabled_;
  int64_t total_;
  bool tty_;
  Clock::time_point drawn_{};
};

}  // namespace tl::train
