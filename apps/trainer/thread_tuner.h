// The OpenMP team size of training steps, chosen from their measured times. Beside another process's busy core, a
// team of every core waits at each of a step's parallel regions for a thread that gets a fraction of a core (1.3-1.6x
// slower than one thread on a 2-core machine, bench/results/threads_contention_2026-12-02.md); on a quiet machine
// the same team is 1.7x faster. After `window` untimed warm-up steps on every core, the tuner times a window of
// steps on every core, then one on a single thread (cut short once one thread is twice as slow), keeps the faster
// (one thread only when 10 % faster) for a stretch of steps, and measures again, so it follows a machine whose load
// changes. A stretch doubles, up to 8 times its first length, each time a measurement confirms the last choice. The
// results do not depend on it: every CPU kernel sums in an order fixed by the data, not by the team
// (tests/test_trainer.cpp checks a tuned run against a one-thread run bit for bit).
#pragma once

#include <vector>

namespace tl::train {

class ThreadTuner {
 public:
  // `most`: the team of every core; `window`: the steps timed per candidate (the first of each is not counted: it
  // may wake threads); `stretch`: the steps run on the faster before the next measurement.
  explicit ThreadTuner(int most, int window = 8, int stretch = 400);

  // The team size for the next step.
  int threads() const;
  // The team that measured faster (every core until a measurement says otherwise): for work between steps.
  int chosen() const { return chosen_; }
  // The time of the step just run with threads().
  void record(double step_ms);

 private:
  enum class Phase { WarmUp, TimeMost, TimeOne, Run };
  void choose(int team);

  int most_, window_, first_stretch_, stretch_;
  Phase phase_;
  int steps_in_phase_ = 0;
  int chosen_;
  bool measured_ = false;  // chosen_ comes from a measurement (not the first default)
  std::vector<double> most_ms_, one_ms_;
};

}  // namespace tl::train
