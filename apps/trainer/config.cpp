// Config validation: a Section reads the keys it knows from one JSON object, checks their types and values,
// and rejects the keys nobody read.
#include "apps/trainer/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/base/memory.h"

namespace tl::train {
namespace {

using nlohmann::json;

class Section {
 public:
  Section(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    TL_CHECK_AS(ValueError, object.is_object(), "config '", label(), "' must be an object, got ", object.dump());
  }

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return object_.contains(key); }

  template <class T>
  T get(const std::string& key, T fallback) {
    seen_.insert(key);
    if (!object_.contains(key)) return fallback;
    const json& value = object_.at(key);
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

  int64_t positive_integer(const std::string& key, int64_t fallback) {
    return get_checked<int64_t>(
        key, fallback, [](int64_t v) { return v > 0; }, "a positive integer");
  }
  int64_t non_negative_integer(const std::string& key, int64_t fallback) {
    return get_checked<int64_t>(
        key, fallback, [](int64_t v) { return v >= 0; }, "an integer >= 0");
  }
  float positive_number(const std::string& key, float fallback) {
    return get_checked<float>(
        key, fallback, [](float v) { return v > 0.0f && std::isfinite(v); }, "a positive number");
  }
  float non_negative_number(const std::string& key, float fallback) {
    return get_checked<float>(
        key, fallback, [](float v) { return v >= 0.0f && std::isfinite(v); }, "a number >= 0");
  }

  Section child(const std::string& key) {
    seen_.insert(key);
    static const json empty = json::object();
    return Section(object_.contains(key) ? object_.at(key) : empty, key_path(key));
  }

  void finish() const {
    for (const auto& item : object_.items()) {
      if (seen_.count(item.key()) != 0) continue;
      std::string known;
      for (const std::string& k : seen_) known += (known.empty() ? "" : ", ") + k;
      TL_FAIL(ValueError, "unknown config key '", key_path(item.key()), "' (known here: ", known, ")");
    }
  }

 private:
  template <class T>
  static const char* type_name() {
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
  std::string label() const { return path_.empty() ? "(top level)" : path_; }

  const json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

auto probability = [](float v) { return v >= 0.0f && v < 1.0f; };

// `name` must be one of `choices`; returns its index.
size_t choose(Section& section, const std::string& key, const std::string& fallback,
              const std::vector<std::string>& choices) {
  const std::string value = section.get<std::string>(key, fallback);
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == value) return i;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  TL_FAIL(ValueError, "config key '", section.key_path(key), "' must be one of ", list, ", got '", value, "'");
}

// dims (degrees 0 or 1) and one weight per degree.
void read_degrees(Section& s, std::vector<int>& dims, std::vector<float>& weights) {
  dims = s.get<std::vector<int>>("dims", dims);
  TL_CHECK_AS(ValueError, !dims.empty(), "config key '", s.key_path("dims"), "' must list at least one degree");
  for (int d : dims)
    TL_CHECK_AS(ValueError, d == 0 || d == 1, "config key '", s.key_path("dims"), "' holds degree ", d,
                " (0 and 1 are supported)");
  weights = s.get<std::vector<float>>("dim_weights", std::vector<float>(dims.size(), 1.0f));
  TL_CHECK_AS(ValueError, weights.size() == dims.size(), "config key '", s.key_path("dim_weights"), "' has ",
              weights.size(), " entries for ", dims.size(), " dims");
}

TopologyTermConfig parse_term(Section& s, std::vector<std::string>& names) {
  TopologyTermConfig t;
  const size_t kind =
      choose(s, "term", "", {"talsr", "homological_ae", "signature", "landscape", "topovae", "topovae_z1", "topogen"});
  static const char* kNames[] = {"talsr",   "homological_ae", "signature", "landscape",
                                 "topovae", "topovae_z1",     "topogen"};
  t.kind = static_cast<TermKind>(kind);
  t.name = kNames[kind];
  int copies = 0;
  for (const std::string& n : names) copies += n.rfind(t.name, 0) == 0;
  if (copies > 0) t.name += "_" + std::to_string(copies + 1);
  names.push_back(t.name);
  t.weight = s.non_negative_number("weight", 1.0f);
  t.ramp_steps = s.non_negative_integer("ramp_steps", 0);
  switch (t.kind) {
    case TermKind::Talsr: {
      read_degrees(s, t.talsr.dims, t.talsr.weights);
      t.talsr.distance =
          static_cast<topology::DiagramDistance>(choose(s, "distance", "w1", {"w1", "w2", "bottleneck"}));
      t.talsr.metric = static_cast<topology::GroundMetric>(choose(s, "metric", "linf", {"linf", "l2"}));
      t.talsr.reference = static_cast<topology::TalsrReference>(
          choose(s, "reference", "raw", {"raw", "pca", "random_projection", "landmarks", "target"}));
      t.talsr.projection_dim = s.non_negative_integer("projection_dim", 0);
      t.talsr.projection_seed = s.get<uint64_t>("projection_seed", 0);
      t.talsr.landmarks = s.positive_integer("landmarks", 32);
      t.target_points = s.positive_integer("target_points", 1024);
      break;
    }
    case TermKind::HomologicalAe:
      t.homological.squared_norm = s.get<bool>("squared_norm", false);
      t.homological.death_cap = s.non_negative_number("death_cap", 0.0f);
      t.homological.degree = s.positive_number("degree", 1.0f);
      t.homological.ball_only = s.get<bool>("ball_only", false);
      break;
    case TermKind::Signature:
      t.signature.halve = s.get<bool>("halve", false);
      t.signature.divide_by_batch = s.get<bool>("divide_by_batch", false);
      t.signature.input_scale = s.non_negative_number("input_scale", 0.0f);
      t.learnable_latent_scale = s.get<bool>("learnable_latent_scale", false);
      break;
    case TermKind::Landscape:
      read_degrees(s, t.landscape.dims, t.landscape.weights);
      t.landscape.levels = static_cast<int>(s.positive_integer("levels", 5));
      t.landscape.grid_points = s.get_checked<int>(
          "grid_points", 64, [](int v) { return v >= 2; }, "an integer >= 2");
      break;
    case TermKind::TopoVae:
      t.topovae = static_cast<topology::TopoVae>(choose(s, "variant", "T1", {"T1", "T2", "T3", "T4"}));
      t.w0 = s.non_negative_number("w0", 0.0f);
      t.w1 = s.non_negative_number("w1", 0.0f);
      t.divide_by_batch = s.get<bool>("divide_by_batch", true);
      break;
    case TermKind::TopoVaeZ1:
      t.z1_scale = s.positive_number("scale", 1.0f);
      t.w0 = s.non_negative_number("w0", 0.0f);
      t.w1 = s.non_negative_number("w1", 0.0f);
      t.divide_by_batch = s.get<bool>("divide_by_batch", true);
      break;
    case TermKind::TopoGen:
      t.topogen.term = static_cast<topology::TopoGenTerm>(
          choose(s, "kind", "bottleneck", {"push", "reininghaus", "sgde4", "bottleneck", "entropy"}));
      t.topogen.dim = s.get_checked<int>(
          "dim", 0, [](int v) { return v == 0 || v == 1; }, "0 or 1");
      t.topogen.push_code_form = s.get<bool>("push_code_form", false);
      t.topogen.sigma = s.non_negative_number("sigma", 0.0f);
      t.topogen.entropy_delta = s.non_negative_number("entropy_delta", 0.001f);
      t.on_reconstruction = choose(s, "on", "reconstruction", {"reconstruction", "latent"}) == 0;
      break;
  }
  s.finish();
  return t;
}

}  // namespace

TrainConfig parse_config(const json& document) {
  TrainConfig c;
  c.source = document;
  Section top(document, "");

  // model: a preset name, or an object starting from a preset.
  {
    const json& model = document.contains("model") ? document.at("model") : json("reference_vae");
    if (model.is_string()) {
      top.get<std::string>("model", "");
      c.model_name = model.get<std::string>();
      c.model = nn::autoencoder_preset(c.model_name);
    } else {
      Section s = top.child("model");
      c.model_name = s.get<std::string>("preset", "reference_vae");
      c.model = nn::autoencoder_preset(c.model_name);
      c.model.input = s.positive_integer("input", c.model.input);
      c.model.hidden = s.get<std::vector<int64_t>>("hidden", c.model.hidden);
      for (int64_t w : c.model.hidden)
        TL_CHECK_AS(ValueError, w > 0, "config key 'model.hidden' holds width ", w, " (widths must be positive)");
      c.model.latent = s.positive_integer("latent", c.model.latent);
      const std::string activation = s.get<std::string>("activation", "");
      if (!activation.empty()) c.model.activation = nn::parse_activation(activation);
      c.model.variational = s.get<bool>("variational", c.model.variational);
      c.model.batch_norm = s.get<bool>("batch_norm", c.model.batch_norm);
      s.finish();
    }
  }
  {
    Section s = top.child("data");
    c.data.source = choose(s, "source", "idx", {"idx", "synthetic"}) == 0 ? "idx" : "synthetic";
    if (c.data.source == "idx") {
      c.data.path = s.require<std::string>("path");
    } else {
      c.data.name = s.require<std::string>("name");
      c.data.noise = s.non_negative_number("noise", 0.0f);
    }
    c.data.count = s.positive_integer("count", 10000);
    c.data.limit = s.non_negative_integer("limit", 0);
    c.data.test_limit = s.non_negative_integer("test_limit", 0);
    s.finish();
  }
  {
    Section s = top.child("loss");
    c.reconstruction = choose(s, "reconstruction", "bce", {"bce", "mse"}) == 0 ? "bce" : "mse";
    c.reduction = static_cast<Reduction>(choose(s, "reduction", "batch_mean", {"sum", "mean", "batch_mean"}));
    c.beta = s.non_negative_number("beta", 1.0f);
    s.finish();
  }
  {
    top.get<json>("topology", json::array());
    const json& terms = document.contains("topology") ? document.at("topology") : json::array();
    TL_CHECK_AS(ValueError, terms.is_array(), "config key 'topology' must be a list of terms, got ", terms.dump());
    std::vector<std::string> names;
    for (size_t i = 0; i < terms.size(); ++i) {
      Section s(terms[i], "topology." + std::to_string(i));
      c.topology.push_back(parse_term(s, names));
    }
  }
  {
    Section s = top.child("optimizer");
    c.optimizer.rule = nn::parse_optimizer(s.get<std::string>("type", "adam"));
    c.optimizer.lr = s.positive_number("lr", 1e-3f);
    c.optimizer.weight_decay = s.non_negative_number("weight_decay", 0.0f);
    c.optimizer.momentum = s.get_checked<float>("momentum", 0.0f, probability, "in [0, 1)");
    c.optimizer.nesterov = s.get<bool>("nesterov", false);
    const std::vector<float> betas = s.get<std::vector<float>>("betas", {0.9f, 0.999f});
    TL_CHECK_AS(ValueError, betas.size() == 2 && probability(betas[0]) && probability(betas[1]),
                "config key 'optimizer.betas' must be two numbers in [0, 1)");
    c.optimizer.beta1 = betas[0];
    c.optimizer.beta2 = betas[1];
    c.optimizer.eps = s.positive_number("eps", 1e-8f);
    s.finish();
  }
  {
    Section s = top.child("schedule");
    c.schedule.kind = nn::parse_schedule(s.get<std::string>("type", "constant"));
    c.schedule.warmup_steps = s.non_negative_integer("warmup_steps", 0);
    c.schedule.step_size = s.positive_integer("step_size", 1000);
    c.schedule.gamma = s.positive_number("gamma", 0.1f);
    c.schedule.min_lr = s.non_negative_number("min_lr", 0.0f);
    s.finish();
  }
  {
    Section s = top.child("evaluation");
    c.evaluation.topology_points = s.positive_integer("topology_points", 512);
    c.evaluation.knn_points = s.positive_integer("knn_points", 2000);
    c.evaluation.knn = static_cast<int>(s.positive_integer("knn", 5));
    s.finish();
  }
  c.clip_grad_norm = top.non_negative_number("clip_grad_norm", 0.0f);  // 0: off
  c.epochs = top.positive_integer("epochs", 1);
  c.max_steps = top.non_negative_integer("max_steps", 0);  // 0: no limit
  c.batch_size = top.get_checked<int64_t>(
      "batch_size", 128, [](int64_t v) { return v >= 2; }, "an integer >= 2");
  c.seed = top.get<uint64_t>("seed", 0);
  const size_t device = choose(top, "device", "cpu", {"cpu", "cuda"});
  c.device = device == 0 ? Device::CPU : Device::CUDA;
  if (c.device == Device::CUDA) {
    TL_CHECK_AS(DeviceError, cuda_runtime::device_count() > 0, "config key 'device' is \"cuda\", but ",
                cuda_runtime::unavailable_reason());
  }
  c.output = top.get<std::string>("output", "runs/default");
  c.checkpoint_every = top.non_negative_integer("checkpoint_every", 0);
  c.progress = top.get<bool>("progress", true);
  top.finish();

  return c;
}

json read_config_file(const std::string& path) {
  std::ifstream file(path);
  TL_CHECK_AS(ValueError, file.good(), "cannot open config file '", path, "'");
  try {
    return json::parse(file);
  } catch (const json::parse_error& e) {
    TL_FAIL(ValueError, "config file '", path, "' is not valid JSON: ", e.what());
  }
}

void apply_override(json& document, const std::string& assignment) {
  const size_t equals = assignment.find('=');
  TL_CHECK_AS(ValueError, equals != std::string::npos && equals > 0, "override '", assignment,
              "' must look like key.path=value");
  const std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // a bare word: a string
  }
  json* node = &document;
  std::stringstream parts(path);
  std::string part, walked;
  std::vector<std::string> keys;
  while (std::getline(parts, part, '.')) keys.push_back(part);
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    walked += (walked.empty() ? "" : ".") + key;
    json* next = nullptr;
    if (node->is_array()) {
      const bool numeric = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
      TL_CHECK_AS(ValueError, numeric && std::stoul(key) < node->size(), "override '", assignment, "': '", walked,
                  "' is not an element of a list of ", node->size());
      next = &(*node)[std::stoul(key)];
    } else {
      if (node->is_null()) *node = json::object();
      TL_CHECK_AS(ValueError, node->is_object(), "override '", assignment, "': '", walked,
                  "' goes inside a value that is not an object");
      next = &(*node)[key];
    }
    node = next;
  }
  *node = value;
}

}  // namespace tl::train
