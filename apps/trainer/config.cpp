// Config validation: parse_config reads the document one section at a time with ConfigSection; each topology term
// is made from the loss-term registry and reads its own options. Also the meaning of the reconstruction loss.
#include "apps/trainer/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "apps/trainer/config_section.h"
#include "apps/trainer/loss_term.h"
#include "core/base/memory.h"

namespace tl::train {
namespace {

using nlohmann::json;

auto probability = [](float v) { return v >= 0.0f && v < 1.0f; };

// The model presets of the generative families: 2-D point sets and flattened 28 x 28 images.
nn::GanSpec gan_preset(const std::string& name) {
  nn::GanSpec spec;
  if (name == "point_gan") return spec;  // the GanSpec defaults: 2-D data and noise, MLPs of 128, 128
  TL_CHECK_AS(ValueError, name == "dcgan_28", "config key 'model': unknown gan preset '", name,
              "' (choose point_gan or dcgan_28)");
  spec.architecture = nn::GenerativeArchitecture::Conv28;
  spec.data_dim = 784;
  spec.noise_dim = 64;
  spec.channels = 64;
  spec.output = nn::ActivationKind::Sigmoid;
  return spec;
}

nn::DenoiserSpec denoiser_preset(const std::string& name) {
  nn::DenoiserSpec spec;
  if (name == "point_denoiser") return spec;  // the DenoiserSpec defaults: 2-D data, MLP of 128 x 3
  TL_CHECK_AS(ValueError, name == "unet_28", "config key 'model': unknown diffusion preset '", name,
              "' (choose point_denoiser or unet_28)");
  spec.architecture = nn::GenerativeArchitecture::Conv28;
  spec.data_dim = 784;
  spec.channels = 32;
  return spec;
}

std::vector<int64_t> hidden_widths(ConfigSection& s, const std::vector<int64_t>& fallback) {
  const std::vector<int64_t> hidden = s.get<std::vector<int64_t>>("hidden", fallback);
  for (int64_t w : hidden)
    TL_CHECK_AS(ValueError, w > 0, "config key '", s.key_path("hidden"), "' holds width ", w,
                " (widths must be positive)");
  return hidden;
}

// The keys of "model" for one family, read into `c` from the preset the section names.
void parse_model_keys(ConfigSection& s, TrainConfig& c) {
  switch (c.family) {
    case Family::Autoencoder:
      c.model = nn::autoencoder_preset(c.model_name);
      c.model.input = s.positive_integer("input", c.model.input);
      c.model.hidden = hidden_widths(s, c.model.hidden);
      c.model.latent = s.positive_integer("latent", c.model.latent);
      if (s.has("activation")) c.model.activation = nn::parse_activation(s.get<std::string>("activation", ""));
      c.model.variational = s.get<bool>("variational", c.model.variational);
      c.model.batch_norm = s.get<bool>("batch_norm", c.model.batch_norm);
      return;
    case Family::Gan:
      c.gan_model = gan_preset(c.model_name);
      c.gan_model.data_dim = s.positive_integer("input", c.gan_model.data_dim);
      c.gan_model.noise_dim = s.positive_integer("noise_dim", c.gan_model.noise_dim);
      c.gan_model.hidden = hidden_widths(s, c.gan_model.hidden);
      c.gan_model.channels = s.positive_integer("channels", c.gan_model.channels);
      if (s.has("output")) c.gan_model.output = nn::parse_activation(s.get<std::string>("output", ""));
      return;
    case Family::Diffusion:
      c.denoiser = denoiser_preset(c.model_name);
      c.denoiser.data_dim = s.positive_integer("input", c.denoiser.data_dim);
      c.denoiser.hidden = hidden_widths(s, c.denoiser.hidden);
      c.denoiser.time_dim = s.get_checked<int64_t>(
          "time_dim", c.denoiser.time_dim, [](int64_t v) { return v >= 4; }, "an integer >= 4");
      c.denoiser.channels = s.get_checked<int64_t>(
          "channels", c.denoiser.channels, [](int64_t v) { return v > 0 && v % 8 == 0; },
          "a positive multiple of 8 (GroupNorm's 8 groups)");
      return;
  }
}

const char* default_preset(Family family) {
  switch (family) {
    case Family::Gan:
      return "point_gan";
    case Family::Diffusion:
      return "point_denoiser";
    default:
      return "reference_vae";
  }
}

// "model": a preset name, or an object starting from a preset. Returns true when it sets model.init_seed.
bool parse_model(const json& document, ConfigSection& top, TrainConfig& c) {
  const json& model = document.contains("model") ? document.at("model") : json(default_preset(c.family));
  if (model.is_string()) {
    top.get<std::string>("model", "");
    c.model_name = model.get<std::string>();
    static const json kNoKeys = json::object();  // ConfigSection keeps a reference to its object
    ConfigSection none(kNoKeys, "model");
    parse_model_keys(none, c);
    return false;
  }
  ConfigSection s = top.child("model");
  c.model_name = s.get<std::string>("preset", default_preset(c.family));
  parse_model_keys(s, c);
  const bool init_seed = s.has("init_seed");
  c.init_seed = s.get<uint64_t>("init_seed", 0);
  s.finish();
  return init_seed;
}

GanConfig parse_gan(ConfigSection s) {
  GanConfig gan;
  gan.discriminator_lr = s.non_negative_number("discriminator_lr", 0.0f);
  s.finish();
  return gan;
}

DiffusionConfig parse_diffusion(ConfigSection s) {
  DiffusionConfig d;
  d.steps = s.positive_integer("steps", 1000);
  d.beta_start = s.get_checked<double>(
      "beta_start", 1e-4, [](double v) { return v > 0.0 && v < 1.0; }, "a number in (0, 1)");
  d.beta_end = s.get_checked<double>(
      "beta_end", std::max(0.02, d.beta_start), [&](double v) { return v >= d.beta_start && v < 1.0; },
      "a number in [beta_start, 1)");
  d.topology_max_t = s.get_checked<int64_t>(
      "topology_max_t", d.steps, [&](int64_t v) { return v >= 1 && v <= d.steps; }, "an integer in [1, steps]");
  d.sampler = s.choice("sampler", "ddpm", {"ddpm", "ddim"}) == 0 ? "ddpm" : "ddim";
  d.sampling_steps = s.get_checked<int64_t>(
      "sampling_steps", std::min<int64_t>(50, d.steps), [&](int64_t v) { return v >= 1 && v <= d.steps; },
      "an integer in [1, steps]");
  d.sample_batch = s.positive_integer("sample_batch", 500);
  if (s.has("clip_x0")) {
    const std::vector<float> range = s.get<std::vector<float>>("clip_x0", {});
    TL_CHECK_AS(ValueError, range.size() == 2 && range[0] < range[1], "config key '", s.key_path("clip_x0"),
                "' must be [low, high] with low < high (the data's range)");
    d.clip_x0 = true;
    d.clip_low = range[0];
    d.clip_high = range[1];
  }
  s.finish();
  return d;
}

// Refuses, naming the family, a section of the document that only another family reads.
void refuse_section(const json& document, const char* key, Family family, const char* why) {
  TL_CHECK_AS(ValueError, !document.contains(key), "config key '", key, "' does not apply to family \"",
              family_name(family), "\": ", why);
}

// A fraction that must lie in (0, 1).
double open_fraction(ConfigSection& s, const std::string& key) {
  return s.get_checked<double>(
      key, 0.5, [](double v) { return v > 0.0 && v < 1.0; }, "a number in (0, 1)");
}

// "data": the source's keys, the test split, the split seed and the standardisation. Returns true when it sets
// data.split_seed.
bool parse_data(ConfigSection s, DataConfig& data) {
  data.source = static_cast<DataSource>(s.choice("source", "idx", {"idx", "synthetic", "arrays"}));
  if (data.source == DataSource::Arrays) {
    data.train = s.require<std::string>("train");
    data.train_labels = s.get<std::string>("train_labels", "");
    data.test = s.get<std::string>("test", "");
    data.test_labels = s.get<std::string>("test_labels", "");
    TL_CHECK_AS(ValueError, s.has("test") != s.has("test_fraction"), "config keys '", s.key_path("test"), "' and '",
                s.key_path("test_fraction"), "': give exactly one (a test file, or the share of '", s.key_path("train"),
                "' to hold out)");
    if (s.has("test_fraction")) data.test_fraction = open_fraction(s, "test_fraction");
    TL_CHECK_AS(ValueError, !s.has("test_labels") || s.has("test"), "config key '", s.key_path("test_labels"),
                "' needs '", s.key_path("test"), "' (with test_fraction the labels of '", s.key_path("train_labels"),
                "' are split with their rows)");
    TL_CHECK_AS(ValueError, !s.has("test") || s.has("train_labels") == s.has("test_labels"), "config keys '",
                s.key_path("train_labels"), "' and '", s.key_path("test_labels"),
                "': give both or neither (without labels every label is 0)");
  } else {
    if (data.source == DataSource::Idx) {
      data.path = s.require<std::string>("path");
      if (s.has("split_from")) {
        data.split_from = s.choice("split_from", "t10k", {"train", "t10k"}) == 0 ? "train" : "t10k";
        data.test_fraction = s.has("test_fraction") ? open_fraction(s, "test_fraction") : 0.1;
      }
      TL_CHECK_AS(ValueError, !s.has("test_fraction") || s.has("split_from"), "config key '",
                  s.key_path("test_fraction"), "' needs '", s.key_path("split_from"),
                  "' (the file set to split: train or t10k; without it the t10k files are the test split)");
    } else {
      data.name = s.require<std::string>("name");
      data.noise = s.non_negative_number("noise", 0.0f);
      data.embed_dim = s.non_negative_integer("embed_dim", 0);
      if (s.has("test_fraction"))
        data.test_fraction = open_fraction(s, "test_fraction");
      else if (data.name == "spheres")
        data.test_fraction = 0.1;  // Moor et al.: one cloud, 90 % train / 10 % test
    }
    data.count = s.positive_integer("count", 10000);
    data.limit = s.non_negative_integer("limit", 0);
    data.test_limit = s.non_negative_integer("test_limit", 0);
  }
  const bool split_seed = s.has("split_seed");
  data.split_seed = s.get<uint64_t>("split_seed", 0);
  data.standardize = s.get<bool>("standardize", data.source == DataSource::Synthetic && data.name == "spheres");
  s.finish();
  return split_seed;
}

ValidationConfig parse_validation(ConfigSection s) {
  ValidationConfig validation;
  validation.fraction = s.get_checked<double>(
      "fraction", 0.0, [](double v) { return v >= 0.0 && v < 1.0; }, "a number in [0, 1) (0: no validation split)");
  validation.patience = s.non_negative_integer("patience", 10);
  s.choice("every", "epoch", {"epoch"});
  s.finish();
  return validation;
}

// "distributed": how a run under mpirun computes its topology terms.
DistributedConfig parse_distributed(ConfigSection s) {
  DistributedConfig distributed;
  distributed.per_rank_topology = s.choice("topology", "global", {"global", "per_rank"}) == 1;
  s.finish();
  return distributed;
}

// "loss": the reconstruction loss, its reduction and the KL weight.
void parse_loss(ConfigSection s, TrainConfig& c) {
  c.reconstruction = static_cast<ReconstructionLoss>(s.choice("reconstruction", "bce", {"bce", "mse"}));
  c.reduction = static_cast<Reduction>(s.choice("reduction", "batch_mean", {"sum", "mean", "batch_mean"}));
  c.beta = s.non_negative_number("beta", 1.0f);
  s.finish();
}

// One entry of "topology". `earlier` holds the config names of the terms before it, for the term's name in logs.
TopologyTermConfig parse_term(ConfigSection s, const std::vector<std::string>& earlier) {
  TopologyTermConfig t;
  t.term = loss_term_names()[s.choice("term", "", loss_term_names())];
  const auto copies = std::count(earlier.begin(), earlier.end(), t.term);
  t.name = copies == 0 ? t.term : t.term + "_" + std::to_string(copies + 1);
  t.weight = s.non_negative_number("weight", 1.0f);
  t.ramp_steps = s.non_negative_integer("ramp_steps", 0);
  std::unique_ptr<LossTerm> term = make_loss_term(t.term);
  term->parse(s);
  s.finish();
  t.parsed = std::move(term);
  return t;
}

std::vector<TopologyTermConfig> parse_topology(const json& document, ConfigSection& top) {
  top.get<json>("topology", json::array());
  const json& terms = document.contains("topology") ? document.at("topology") : json::array();
  TL_CHECK_AS(ValueError, terms.is_array(), "config key 'topology' must be a list of terms, got ", terms.dump());
  std::vector<TopologyTermConfig> parsed;
  std::vector<std::string> earlier;
  for (size_t i = 0; i < terms.size(); ++i) {
    parsed.push_back(parse_term(ConfigSection(terms[i], "topology." + std::to_string(i)), earlier));
    earlier.push_back(parsed.back().term);
  }
  return parsed;
}

nn::OptimizerOptions parse_optimizer(ConfigSection s) {
  nn::OptimizerOptions optimizer;
  optimizer.rule = nn::parse_optimizer(s.get<std::string>("type", "adam"));
  optimizer.lr = s.positive_number("lr", 1e-3f);
  optimizer.weight_decay = s.non_negative_number("weight_decay", 0.0f);
  optimizer.momentum = s.get_checked<float>("momentum", 0.0f, probability, "in [0, 1)");
  optimizer.nesterov = s.get<bool>("nesterov", false);
  const std::vector<float> betas = s.get<std::vector<float>>("betas", {0.9f, 0.999f});
  TL_CHECK_AS(ValueError, betas.size() == 2 && probability(betas[0]) && probability(betas[1]),
              "config key 'optimizer.betas' must be two numbers in [0, 1)");
  optimizer.beta1 = betas[0];
  optimizer.beta2 = betas[1];
  optimizer.eps = s.positive_number("eps", 1e-8f);
  s.finish();
  return optimizer;
}

nn::LearningRateSchedule parse_schedule(ConfigSection s) {
  nn::LearningRateSchedule schedule;
  schedule.kind = nn::parse_schedule(s.get<std::string>("type", "constant"));
  schedule.warmup_steps = s.non_negative_integer("warmup_steps", 0);
  schedule.step_size = s.positive_integer("step_size", 1000);
  schedule.gamma = s.positive_number("gamma", 0.1f);
  schedule.min_lr = s.non_negative_number("min_lr", 0.0f);
  s.finish();
  return schedule;
}

EvaluationConfig parse_evaluation(ConfigSection s) {
  EvaluationConfig evaluation;
  evaluation.topology_points = s.positive_integer("topology_points", 512);
  evaluation.knn_points = s.positive_integer("knn_points", 2000);
  evaluation.knn = static_cast<int>(s.positive_integer("knn", 5));
  s.finish();
  return evaluation;
}

// The top-level keys of the run: length, batches, seed, device, output and checkpoints.
void parse_run(ConfigSection& top, TrainConfig& c) {
  c.clip_grad_norm = top.non_negative_number("clip_grad_norm", 0.0f);  // 0: off
  c.epochs = top.positive_integer("epochs", 1);
  c.max_steps = top.non_negative_integer("max_steps", 0);  // 0: no limit
  c.batch_size = top.get_checked<int64_t>(
      "batch_size", 128, [](int64_t v) { return v >= 2; }, "an integer >= 2");
  c.seed = top.get<uint64_t>("seed", 0);
  c.device = top.choice("device", "cpu", {"cpu", "cuda"}) == 0 ? Device::CPU : Device::CUDA;
  if (c.device == Device::CUDA) {
    TL_CHECK_AS(DeviceError, cuda_runtime::device_count() > 0, "config key 'device' is \"cuda\", but ",
                cuda_runtime::unavailable_reason());
  }
  c.output = top.get<std::string>("output", "runs/default");
  c.checkpoint_every = top.non_negative_integer("checkpoint_every", 0);
  c.progress = top.get<bool>("progress", true);
}

}  // namespace

const char* family_name(Family family) {
  switch (family) {
    case Family::Gan:
      return "gan";
    case Family::Diffusion:
      return "diffusion";
    default:
      return "autoencoder";
  }
}

int64_t data_width(const TrainConfig& config) {
  switch (config.family) {
    case Family::Gan:
      return config.gan_model.data_dim;
    case Family::Diffusion:
      return config.denoiser.data_dim;
    default:
      return config.model.input;
  }
}

Tensor reconstruction_loss(ReconstructionLoss loss, const Tensor& output, const Tensor& batch, Reduction reduction) {
  return loss == ReconstructionLoss::Bce ? bce_with_logits(output, batch, reduction)
                                         : mse_loss(output, batch, reduction);
}

Tensor reconstruction_values(ReconstructionLoss loss, const Tensor& output) {
  return loss == ReconstructionLoss::Bce ? sigmoid(output) : output;
}

TrainConfig parse_config(const json& document) {
  TrainConfig c;
  c.source = document;
  ConfigSection top(document, "");
  c.family = static_cast<Family>(top.choice("family", "autoencoder", {"autoencoder", "gan", "diffusion"}));
  const bool init_seed = parse_model(document, top, c);
  const bool split_seed = parse_data(top.child("data"), c.data);
  if (c.family == Family::Autoencoder) {
    c.validation = parse_validation(top.child("validation"));
    parse_loss(top.child("loss"), c);
    TL_CHECK_AS(ValueError, !(c.data.standardize && c.reconstruction == ReconstructionLoss::Bce),
                "config key 'data.standardize' is true, but 'loss.reconstruction' is bce, whose targets must lie in "
                "[0, 1]: use mse with standardized data");
  } else {
    refuse_section(document, "validation", c.family, "validation splits and early stopping are for autoencoders");
    refuse_section(document, "loss", c.family, "its losses are fixed (non-saturating GAN loss, epsilon MSE)");
  }
  if (c.family == Family::Gan) {
    c.gan = parse_gan(top.child("gan"));
    TL_CHECK_AS(ValueError, !(c.data.standardize && c.gan_model.output == nn::ActivationKind::Sigmoid),
                "config key 'data.standardize' is true, but the generator ends in a sigmoid (model.output), whose "
                "samples lie in [0, 1]: set model.output to identity for standardized data");
  } else {
    refuse_section(document, "gan", c.family, "it has no discriminator");
  }
  if (c.family == Family::Diffusion)
    c.diffusion = parse_diffusion(top.child("diffusion"));
  else
    refuse_section(document, "diffusion", c.family, "it is not a diffusion model");
  c.topology = parse_topology(document, top);
  for (size_t i = 0; i < c.topology.size(); ++i)
    TL_CHECK_AS(ValueError, !(c.family == Family::Gan && c.topology[i].term == "signature"), "config key 'topology.", i,
                ".term': the signature loss compares distances of row pairs across the two batches, which needs row i "
                "of one to belong to row i of the other; a GAN's G(z) has no such rows (use talsr or landscape)");
  c.optimizer = parse_optimizer(top.child("optimizer"));
  c.schedule = parse_schedule(top.child("schedule"));
  c.evaluation = parse_evaluation(top.child("evaluation"));
  c.distributed = parse_distributed(top.child("distributed"));
  parse_run(top, c);
  top.finish();
  if (!init_seed) c.init_seed = c.seed;
  if (!split_seed) c.data.split_seed = c.seed;
  return c;
}

json read_config_file(const std::string& path) {
  std::ifstream file(path);
  TL_CHECK_AS(ValueError, file.good(), "cannot open config file '", path, "'");
  try {
    return json::parse(file);
  } catch (const json::exception& e) {  // a syntax error, or a number beyond double (out_of_range)
    TL_FAIL(ValueError, "config file '", path, "' is not valid JSON: ", e.what());
  }
}

void apply_override(json& document, const std::string& assignment) {
  const size_t equals = assignment.find('=');
  TL_CHECK_AS(ValueError, equals != std::string::npos && equals > 0, "override '", assignment,
              "' must look like key.path=value");
  try {
    json(assignment).dump();  // its keys and value are quoted in JSON and in messages, which needs UTF-8 text
  } catch (const json::type_error&) {
    TL_FAIL(ValueError, "override '", assignment, "' is not UTF-8 text");
  }
  const std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception&) {
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
      const bool numeric = !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string::npos;
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
