// The shared operations of the metric groups: batched encoding and decoding, samplers, subsets, progress.
#include "apps/evaluation/evaluation_context.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "apps/evaluation/samplers.h"
#include "core/autograd.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr int64_t kModelBatch = 1000;              // rows per forward pass
constexpr int64_t kLangevinTrainingCodes = 10000;  // training codes in the Langevin walk's density estimate
constexpr uint64_t kTrainingSubsetStream = 0x7C0DE5;

// `run` on row blocks of `x` moved to `device`, the CPU results stacked.
Tensor batched(const Tensor& x, Device device, const std::function<Tensor(const Tensor&)>& run) {
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.dim(0); start += kModelBatch)
    parts.push_back(run(slice(x, 0, start, std::min(x.dim(0), start + kModelBatch)).to(device)).to(Device::CPU));
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace

const char* group_name(MetricGroup group) {
  switch (group) {
    case MetricGroup::Reconstruction:
      return "reconstruction";
    case MetricGroup::Generation:
      return "generation";
    case MetricGroup::Topology:
      return "topology";
    case MetricGroup::Interpolation:
      return "interpolation";
    case MetricGroup::Robustness:
      return "robustness";
    case MetricGroup::Embedding:
      return "embedding";
    case MetricGroup::Cost:
      return "cost";
  }
  return "?";
}

const char* sampler_name(Sampler sampler) {
  switch (sampler) {
    case Sampler::Gaussian:
      return "gaussian";
    case Sampler::UnitBall:
      return "unit_ball";
    case Sampler::Langevin:
      return "langevin";
    case Sampler::Generator:
      return "generator";
    case Sampler::Ddpm:
      return "ddpm";
    case Sampler::Ddim:
      return "ddim";
  }
  return "?";
}

bool needs_encoder(MetricGroup group) {
  return group == MetricGroup::Reconstruction || group == MetricGroup::Interpolation ||
         group == MetricGroup::Robustness || group == MetricGroup::Embedding;
}

const std::vector<MetricGroup>& all_groups() {
  static const std::vector<MetricGroup> groups{
      MetricGroup::Reconstruction, MetricGroup::Generation, MetricGroup::Topology, MetricGroup::Interpolation,
      MetricGroup::Robustness,     MetricGroup::Embedding,  MetricGroup::Cost};
  return groups;
}

const std::vector<Sampler>& all_samplers() {
  static const std::vector<Sampler> samplers{Sampler::Gaussian,  Sampler::UnitBall, Sampler::Langevin,
                                             Sampler::Generator, Sampler::Ddpm,     Sampler::Ddim};
  return samplers;
}

Sampler parse_sampler(const std::string& name) {
  for (Sampler sampler : all_samplers())
    if (name == sampler_name(sampler)) return sampler;
  TL_FAIL(ValueError, "unknown sampler '", name, "'");
}

EvaluationContext::EvaluationContext(train::ModelFamily& family, const train::TrainConfig& config,
                                     data::Dataset evaluated, const data::Dataset& training,
                                     const FeatureSpace& features, const EvaluationOptions& options,
                                     std::string run_directory)
    : family_(family),
      config_(config),
      data_(std::move(evaluated)),
      training_(training),
      features_(features),
      options_(options),
      run_directory_(std::move(run_directory)),
      start_(std::chrono::steady_clock::now()) {
  TL_CHECK_AS(ValueError, data_.size() >= 2, "the evaluated split of '", data_.name, "' has ", data_.size(),
              " points; the metrics need at least 2");
  const std::vector<float> values = data_.inputs.to_vector<float>();
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  unit_range_ = *low >= 0.0f && *high <= 1.0f;
  signal_range_ = unit_range_ ? 1.0 : std::max(1e-12, static_cast<double>(*high) - static_cast<double>(*low));
  const std::vector<std::string> own = family_.samplers();
  if (options_.samplers.empty()) {
    for (const std::string& name : own) samplers_.push_back(parse_sampler(name));
  } else {
    std::string asked, listed;
    for (Sampler sampler : options_.samplers) {
      asked += (asked.empty() ? "" : ", ") + std::string(sampler_name(sampler));
      if (std::find(own.begin(), own.end(), sampler_name(sampler)) != own.end()) samplers_.push_back(sampler);
    }
    for (const std::string& name : own) listed += (listed.empty() ? "" : ", ") + name;
    TL_CHECK_AS(ValueError, !samplers_.empty(), "none of the samplers asked for (", asked,
                ") applies to a run of family \"", train::family_name(config_.family), "\" (its samplers: ", listed,
                ")");
  }
  family_.module().eval();
}

EvaluationContext::~EvaluationContext() {
  family_.module().train();
}

nn::Autoencoder& EvaluationContext::model() const {
  return train::require_autoencoder(family_, config_, "this metric");
}

Tensor EvaluationContext::encode(const Tensor& inputs) const {
  nn::Autoencoder& autoencoder = model();
  return batched(inputs, config_.device, [&](const Tensor& block) { return autoencoder.encode(block); });
}

Tensor EvaluationContext::decode(const Tensor& codes) const {
  nn::Autoencoder& autoencoder = model();
  return batched(codes, config_.device, [&](const Tensor& block) {
    return train::reconstruction_values(config_.reconstruction, autoencoder.decode(block));
  });
}

Tensor EvaluationContext::generate(Sampler sampler, int64_t n, uint64_t seed) const {
  if (has_encoder()) return decode(sample_codes(sampler, n, seed));
  Generator generator(seed);
  return family_.sample(sampler_name(sampler), n, generator);
}

Tensor EvaluationContext::training_codes(int64_t limit) const {
  for (const auto& [stored_limit, codes] : training_codes_)
    if (stored_limit == limit) return codes;
  std::vector<int64_t> rows = data::epoch_permutation(training_.size(), options_.seed ^ kTrainingSubsetStream, 0);
  if (limit > 0 && limit < training_.size()) rows.resize(static_cast<size_t>(limit));
  std::sort(rows.begin(), rows.end());
  training_codes_.emplace_back(limit, encode(data::gather_rows(training_, rows, Device::CPU)));
  return training_codes_.back().second;
}

const KnnGraph& EvaluationContext::geodesic_graph() const {
  if (!geodesic_graph_)
    geodesic_graph_ = knn_graph(training_codes(options_.geodesic_graph_points), options_.geodesic_neighbours);
  return *geodesic_graph_;
}

Tensor EvaluationContext::sample_codes(Sampler sampler, int64_t n, uint64_t seed) const {
  Generator generator(seed);
  const int64_t m = config_.model.latent;
  switch (sampler) {
    case Sampler::Gaussian:
      return gaussian_codes(n, m, generator);
    case Sampler::UnitBall:
      return unit_ball_codes(n, m, generator);
    case Sampler::Langevin:
      return langevin_codes(training_codes(kLangevinTrainingCodes), n, {}, generator);
    default:
      TL_FAIL(ValueError, "sampler '", sampler_name(sampler), "' draws no codes");
  }
}

std::vector<int64_t> EvaluationContext::permutation(uint64_t stream) const {
  return data::epoch_permutation(data_.size(), options_.seed, static_cast<int64_t>(stream));
}

void EvaluationContext::note(const std::string& group, const std::string& what) const {
  if (!options_.progress) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "tl_evaluate: %s: %s (%.1f s)\n", group.c_str(), what.c_str(), seconds);
}

Tensor take_rows(const Tensor& x, const std::vector<int64_t>& rows) {
  return index_select(x, 0, Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}));
}

std::vector<int64_t> head(const std::vector<int64_t>& order, int64_t count) {
  return {order.begin(), order.begin() + std::min<int64_t>(count, static_cast<int64_t>(order.size()))};
}

}  // namespace tl::eval
