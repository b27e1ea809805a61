// ThreadTuner: timing windows of steps on every core and on one thread, then a stretch on the faster.
#include "apps/trainer/thread_tuner.h"

#include <algorithm>

#include "core/base/error.h"

namespace tl::train {
namespace {

// One thread is chosen only when it is faster by this factor: within it, noise decides nothing.
constexpr double kMargin = 1.1;

double median_of(std::vector<double> values) {
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  return values[middle];
}

}  // namespace

ThreadTuner::ThreadTuner(int most, int window, int stretch)
    : most_(most), window_(window), stretch_(stretch), chosen_(most) {
  TL_CHECK_AS(ValueError, most >= 1 && window >= 2 && stretch >= 1, "ThreadTuner: most ", most, ", window ", window,
              " and stretch ", stretch, " must be at least 1, 2 and 1");
  // The run's first steps (cold caches, page faults, threads starting) run on every core untimed.
  phase_ = Phase::Run;
  steps_in_phase_ = stretch_ - window_ > 0 ? stretch_ - window_ : 0;
}

int ThreadTuner::threads() const {
  switch (phase_) {
    case Phase::TimeMost:
      return most_;
    case Phase::TimeOne:
      return 1;
    case Phase::Run:
      break;
  }
  return chosen_;
}

void ThreadTuner::record(double step_ms) {
  if (most_ == 1) return;
  const bool counted = steps_in_phase_ > 0;
  ++steps_in_phase_;
  switch (phase_) {
    case Phase::TimeMost:
      if (counted) most_ms_.push_back(step_ms);
      if (steps_in_phase_ == window_) phase_ = Phase::TimeOne, steps_in_phase_ = 0;
      break;
    case Phase::TimeOne:
      if (counted) one_ms_.push_back(step_ms);
      if (steps_in_phase_ == window_) {
        chosen_ = median_of(one_ms_) * kMargin < median_of(most_ms_) ? 1 : most_;
        most_ms_.clear();
        one_ms_.clear();
        phase_ = Phase::Run, steps_in_phase_ = 0;
      }
      break;
    case Phase::Run:
      if (steps_in_phase_ == stretch_) phase_ = Phase::TimeMost, steps_in_phase_ = 0;
      break;
  }
}

}  // namespace tl::train
