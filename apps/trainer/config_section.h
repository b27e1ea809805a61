// Config validation, shared by parse_config and the loss terms: a ConfigSection reads the keys it knows from one
// JSON object, checks their types and values, and rejects the keys nobody read. Every error names the full key
// ("optimizer.lr", "topology.0.dims").
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/base/error.h"

namespace tl::train {

// The words separated by ", ", for messages.
template <class Words>
std::string joined(const Words& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

class ConfigSection {
 public:
  // `path` is the object's key path ("" for the top level).
  ConfigSection(const nlohmann::json& object, std::string path);

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // True when the object holds `key` (reading it still takes get, choice or child).
  bool has(const std::string& key) const { return object_.contains(key); }

  // The value of `key` (or `fallback` when absent), which must have T's JSON type.
  template <class T>
  T get(const std::string& key, T fallback);

  // A key that must be present.
  template <class T>
  T require(const std::string& key) {
    TL_CHECK_AS(ValueError, object_.contains(key), "config key '", key_path(key), "' is required");
    return get<T>(key, T{});
  }

  // A value that must satisfy `ok`; the message says what is expected.
  template <class T, class Ok>
  T get_checked(const std::string& key, T fallback, Ok ok, const char* expected) {
    const T value = get<T>(key, fallback);
    if (!ok(value)) {
      TL_FAIL(ValueError, "config key '", key_path(key), "' must be ", expected, ", got ", object_.at(key).dump());
    }
    return value;
  }

  int64_t positive_integer(const std::string& key, int64_t fallback);
  int64_t non_negative_integer(const std::string& key, int64_t fallback);
  float positive_number(const std::string& key, float fallback);
  float non_negative_number(const std::string& key, float fallback);

  // A string that must be one of `choices`; returns its index.
  size_t choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& choices);

  // The object under `key` (an empty one when absent).
  ConfigSection child(const std::string& key);

  // Throws on the first key that no get/choice/child call read.
  void finish() const;

 private:
  template <class T>
  static const char* type_name();
  std::string label() const { return path_.empty() ? "(top level)" : path_; }

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

// Reads "dims" (degrees 0 or 1, at least one) and "dim_weights" (one per degree, all 1 by default).
void read_degrees(ConfigSection& section, std::vector<int>& dims, std::vector<float>& weights);

template <class T>
T ConfigSection::get(const std::string& key, T fallback) {
  seen_.insert(key);
  if (!object_.contains(key)) return fallback;
  const nlohmann::json& value = object_.at(key);
  try {
    if constexpr (std::is_same_v<T, bool>) {
      TL_CHECK_AS(ValueError, value.is_boolean(), "");
    } else if constexpr (std::is_arithmetic_v<T>) {
      TL_CHECK_AS(ValueError, value.is_number(), "");
      if constexpr (std::is_integral_v<T>) {
        TL_CHECK_AS(ValueError, value.is_number_integer(), "");
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      TL_CHECK_AS(ValueError, value.is_string(), "");
    }
    return value.get<T>();
  } catch (const std::exception&) {
    TL_FAIL(ValueError, "config key '", key_path(key), "' must be ", type_name<T>(), ", got ", value.dump());
  }
}

template <class T>
const char* ConfigSection::type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_arithmetic_v<T>)
    return "a number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else
    return "a list of numbers";
}

}  // namespace tl::train
