// ConfigSection's range checks, choices and unknown-key check.
#include "apps/trainer/config_section.h"

namespace tl::train {

ConfigSection::ConfigSection(const nlohmann::json& object, std::string path) : object_(object), path_(std::move(path)) {
  TL_CHECK_AS(ValueError, object.is_object(), "config '", label(), "' must be an object, got ", object.dump());
}

int64_t ConfigSection::positive_integer(const std::string& key, int64_t fallback) {
  return get_checked<int64_t>(
      key, fallback, [](int64_t v) { return v > 0; }, "a positive integer");
}

int64_t ConfigSection::non_negative_integer(const std::string& key, int64_t fallback) {
  return get_checked<int64_t>(
      key, fallback, [](int64_t v) { return v >= 0; }, "an integer >= 0");
}

float ConfigSection::positive_number(const std::string& key, float fallback) {
  return get_checked<float>(
      key, fallback, [](float v) { return v > 0.0f && std::isfinite(v); }, "a positive number");
}

float ConfigSection::non_negative_number(const std::string& key, float fallback) {
  return get_checked<float>(
      key, fallback, [](float v) { return v >= 0.0f && std::isfinite(v); }, "a number >= 0");
}

size_t ConfigSection::choice(const std::string& key, const std::string& fallback,
                             const std::vector<std::string>& choices) {
  const std::string value = get<std::string>(key, fallback);
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == value) return i;
  TL_FAIL(ValueError, "config key '", key_path(key), "' must be one of ", joined(choices), ", got '", value, "'");
}

ConfigSection ConfigSection::child(const std::string& key) {
  seen_.insert(key);
  static const nlohmann::json empty = nlohmann::json::object();
  return ConfigSection(object_.contains(key) ? object_.at(key) : empty, key_path(key));
}

void ConfigSection::finish() const {
  for (const auto& item : object_.items()) {
    if (seen_.count(item.key()) != 0) continue;
    TL_FAIL(ValueError, "unknown config key '", key_path(item.key()), "' (known here: ", joined(seen_), ")");
  }
}

void read_degrees(ConfigSection& section, std::vector<int>& dims, std::vector<float>& weights) {
  dims = section.get<std::vector<int>>("dims", dims);
  TL_CHECK_AS(ValueError, !dims.empty(), "config key '", section.key_path("dims"), "' must list at least one degree");
  for (int d : dims)
    TL_CHECK_AS(ValueError, d == 0 || d == 1, "config key '", section.key_path("dims"), "' holds degree ", d,
                " (0 and 1 are supported)");
  weights = section.get<std::vector<float>>("dim_weights", std::vector<float>(dims.size(), 1.0f));
  TL_CHECK_AS(ValueError, weights.size() == dims.size(), "config key '", section.key_path("dim_weights"), "' has ",
              weights.size(), " entries for ", dims.size(), " dims");
}

}  // namespace tl::train
