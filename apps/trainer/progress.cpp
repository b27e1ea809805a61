// The progress bar's text and redraw rate; wall-clock helpers.
#include "apps/trainer/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tl::train {

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return text;
}

ProgressBar::ProgressBar(bool enabled, int64_t total_steps)
    : enabled_(enabled), total_(total_steps), tty_(isatty(2) != 0) {}

// A terminal is redrawn at most five times a second, a log once per tenth of an epoch; the last step always.
bool ProgressBar::due(int64_t step, int64_t steps_per_epoch, Clock::time_point now) const {
  if (step == total_) return true;
  if (tty_) return std::chrono::duration<double>(now - drawn_).count() >= 0.2;
  return step % std::max<int64_t>(steps_per_epoch / 10, 1) == 0;
}

void ProgressBar::update(int64_t step, int64_t epoch, int64_t epochs, int64_t steps_per_epoch,
                         const std::vector<std::pair<std::string, double>>& terms, const std::vector<double>& step_ms) {
  const auto now = Clock::now();
  if (!enabled_ || !due(step, steps_per_epoch, now)) return;
  const double ms_per_step = median(step_ms);  // only when drawn: the history grows with the run
  drawn_ = now;
  const double fraction = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(total_, 1));
  const int filled = static_cast<int>(fraction * 24);
  std::ostringstream line;
  line << "epoch " << epoch + 1 << "/" << epochs << " [" << std::string(filled, '#') << std::string(24 - filled, '.')
       << "] " << step << "/" << total_;
  for (const auto& [name, value] : terms) line << "  " << name << " " << value;
  line << "  " << ms_per_step << " ms/step  ETA " << clock_text((total_ - step) * ms_per_step / 1000.0);
  std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.str().c_str());
  if (tty_ && step == total_) std::fprintf(stderr, "\n");
}

}  // namespace tl::train
