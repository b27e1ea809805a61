// ThreadTuner: a warm-up, then timing windows of steps on every core and on one thread, then a stretch on the
// faster, again and again.
#include "apps/trainer/thread_tuner.h"

#include <algorithm>

#include "core/base/error.h"

namespace tl::train {
namespace {

// One thread is chosen only when it is faster by this factor: within it, noise decides nothing.
constexpr double kMargin = 1.1;
// The one-thread window ends early once its counted steps (two at least) are this much slower than every core's.
constexpr double kClearlySlower = 2.0;
// A stretch grows to at most this many times its first length while the measurements agree.
constexpr int kMostStretchGrowth = 8;

double median_of(std::vector<double> values) {
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  return values[middle];
}

}  // namespace

ThreadTuner::ThreadTuner(int most, int window, int stretch)
    : most_(most),
      window_(window),
      first_stretch_(stretch),
      stretch_(stretch),
      phase_(most > 1 ? Phase::WarmUp : Phase::Run),
      chosen_(most) {
  TL_CHECK_AS(ValueError, most >= 1 && window >= 2 && stretch >= 1, "ThreadTuner: most ", most, ", window ", window,
              " and stretch ", stretch, " must be at least 1, 2 and 1");
}

int ThreadTuner::threads() const {
  switch (phase_) {
    case Phase::WarmUp:
    case Phase::TimeMost:
      return most_;
    case Phase::TimeOne:
      return 1;
    case Phase::Run:
      break;
  }
  return chosen_;
}

void ThreadTuner::choose(int team) {
  const bool confirmed = measured_ && team == chosen_;
  stretch_ = confirmed ? std::min(stretch_ * 2, first_stretch_ * kMostStretchGrowth) : first_stretch_;
  chosen_ = team;
  measured_ = true;
  most_ms_.clear();
  one_ms_.clear();
  phase_ = Phase::Run;
  steps_in_phase_ = 0;
}

void ThreadTuner::record(double step_ms) {
  if (most_ == 1) return;
  const bool counted = steps_in_phase_ > 0;
  ++steps_in_phase_;
  switch (phase_) {
    case Phase::WarmUp:
      if (steps_in_phase_ == window_) phase_ = Phase::TimeMost, steps_in_phase_ = 0;
      break;
    case Phase::TimeMost:
      if (counted) most_ms_.push_back(step_ms);
      if (steps_in_phase_ == window_) phase_ = Phase::TimeOne, steps_in_phase_ = 0;
      break;
    case Phase::TimeOne:
      if (counted) one_ms_.push_back(step_ms);
      if (one_ms_.size() >= 2 &&
          *std::min_element(one_ms_.begin(), one_ms_.end()) > kClearlySlower * median_of(most_ms_)) {
        choose(most_);
      } else if (steps_in_phase_ == window_) {
        choose(median_of(one_ms_) * kMargin < median_of(most_ms_) ? 1 : most_);
      }
      break;
    case Phase::Run:
      if (steps_in_phase_ == stretch_) phase_ = Phase::TimeMost, steps_in_phase_ = 0;
      break;
  }
}

}  // namespace tl::train
