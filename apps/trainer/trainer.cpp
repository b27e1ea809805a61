// The training loop, checkpoints, evaluation and report of tl_train.
#include "apps/trainer/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/trainer/checkpoint.h"
#include "core/autograd.h"
#include "core/base/memory.h"
#include "core/ops.h"
#include "topology/differentiable.h"
#include "topology/matching.h"
#include "topology/persistence.h"

namespace tl::train {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kNoiseKey = 0x9E3779B97F4A7C15ull;  // mixed into the seed for the VAE's per-step noise
constexpr uint64_t kTestSeedOffset = 1000003;          // a synthetic test set draws from seed + this

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

void synchronize(Device device) {
  if (device == Device::CUDA) cuda_runtime::synchronize();
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

// A one-line progress bar on stderr, redrawn in place on a terminal; elsewhere one line per tenth of an epoch.
class ProgressBar {
 public:
  ProgressBar(bool enabled, int64_t total_steps) : enabled_(enabled), total_(total_steps), tty_(isatty(2) != 0) {}

  void update(int64_t step, int64_t epoch, int64_t epochs, int64_t steps_per_epoch,
              const std::vector<std::pair<std::string, double>>& terms, double ms_per_step) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const bool last = step == total_;
    const int64_t tenth = std::max<int64_t>(steps_per_epoch / 10, 1);
    if (tty_ ? (!last && std::chrono::duration<double>(now - drawn_).count() < 0.2) : (step % tenth != 0 && !last)) {
      return;
    }
    drawn_ = now;
    const double fraction = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(total_, 1));
    const int filled = static_cast<int>(fraction * 24);
    std::ostringstream line;
    line << "epoch " << epoch + 1 << "/" << epochs << " [" << std::string(filled, '#') << std::string(24 - filled, '.')
         << "] " << step << "/" << total_;
    for (const auto& [name, value] : terms) line << "  " << name << " " << value;
    line << "  " << ms_per_step << " ms/step  ETA " << clock_text((total_ - step) * ms_per_step / 1000.0);
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.str().c_str());
    if (tty_ && last) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  int64_t total_;
  bool tty_;
  Clock::time_point drawn_{};
};

std::string log_path(const TrainConfig& config) {
  return config.output + "/log.jsonl";
}

// Leave-one-out k-NN label accuracy of the rows of `points` (brute force over a small evaluation sample).
double knn_accuracy(const Tensor& points, const std::vector<int32_t>& labels, int k) {
  const Tensor distances = topology::pairwise_distances(points.to(Device::CPU));
  const std::vector<float> d = distances.to_vector<float>();
  const int64_t n = points.dim(0);
  int64_t correct = 0;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) order[j] = j;
    const int64_t kk = std::min<int64_t>(k, n - 1);
    std::partial_sort(order.begin(), order.begin() + kk + 1, order.end(), [&](int64_t a, int64_t b) {
      if (a == i || b == i) return b == i && a != i;  // the point itself goes last
      return d[i * n + a] < d[i * n + b] || (d[i * n + a] == d[i * n + b] && a < b);
    });
    std::map<int32_t, int> votes;
    for (int64_t r = 0; r < kk; ++r) ++votes[labels[order[r]]];
    int32_t best = -1;
    int best_votes = 0;
    for (const auto& [label, count] : votes)
      if (count > best_votes) best = label, best_votes = count;
    correct += best == labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

// The finite pairs of degree `dim` scaled by 1/scale, as (birth, death) pairs for the matchings.
std::vector<float> scaled_pairs(const topology::PersistenceResult& result, int dim, float scale) {
  std::vector<float> flat;
  for (const auto& pair : result.diagrams[dim].pairs) {
    flat.push_back(pair.birth / scale);
    flat.push_back(pair.death / scale);
  }
  return flat;
}

}  // namespace

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  if (config_.data.source == "idx") {
    train_set_ = data::load_idx_dataset(config_.data.path, data::Split::Train, config_.data.limit);
    test_set_ = data::load_idx_dataset(config_.data.path, data::Split::Test, config_.data.test_limit);
  } else {
    train_set_ = data::synthetic_dataset(config_.data.name, config_.data.count, config_.seed, config_.data.noise);
    test_set_ =
        data::synthetic_dataset(config_.data.name, std::max<int64_t>(config_.data.count / 10, config_.batch_size),
                                config_.seed + kTestSeedOffset, config_.data.noise);
  }
  TL_CHECK_AS(ValueError, train_set_.inputs.dim(1) == config_.model.input, "the data set '", train_set_.name, "' has ",
              train_set_.inputs.dim(1), " features but the model expects ", config_.model.input,
              " (set model.input, or pick a model preset for this data)");
  TL_CHECK_AS(ValueError, train_set_.size() >= config_.batch_size, "batch_size ", config_.batch_size, " exceeds the ",
              train_set_.size(), " training samples");

  Generator init(config_.seed);
  model_ = std::make_unique<nn::Autoencoder>(config_.model, init);
  model_->to(config_.device);
  trained_ = model_->named_parameters();
  for (size_t t = 0; t < config_.topology.size(); ++t) {
    const TopologyTermConfig& term = config_.topology[t];
    term_scale_.push_back(nullptr);
    if (term.kind == TermKind::Signature && term.learnable_latent_scale) {
      extra_parameters_.push_back(Tensor::ones({1}, config_.device).set_requires_grad(true));
      term_scale_.back() = &extra_parameters_.back();
      trained_.emplace_back(term.name + ".latent_scale", &extra_parameters_.back());
    }
    talsr_targets_.emplace_back();
    if (term.kind == TermKind::Talsr && term.talsr.reference == topology::TalsrReference::TargetDiagrams) {
      // Diagrams of a fixed sample of the training set (the first rows of a shuffle no epoch uses).
      std::vector<int64_t> order = data::epoch_permutation(train_set_.size(), config_.seed, -1);
      order.resize(static_cast<size_t>(std::min<int64_t>(term.target_points, train_set_.size())));
      NoGradGuard no_grad;
      const topology::DifferentiableDiagrams target =
          topology::persistence_diagrams(data::gather_rows(train_set_, order, config_.device));
      for (int dim : term.talsr.dims) talsr_targets_.back().push_back(target.diagrams[dim]);
    }
  }
  config_.schedule.total_steps = config_.max_steps > 0 ? config_.max_steps : config_.epochs * steps_per_epoch();
  optimizer_ = std::make_unique<nn::Optimizer>(trained_, config_.optimizer);
}

int64_t Trainer::steps_per_epoch() const {
  return train_set_.size() / config_.batch_size;
}

std::string Trainer::checkpoint_path() const {
  return config_.output + "/checkpoint.tlc";
}

std::vector<std::pair<std::string, Tensor*>> Trainer::state_tensors() {
  std::vector<std::pair<std::string, Tensor*>> state;
  for (auto& [name, tensor] : model_->named_parameters()) state.emplace_back("model." + name, tensor);
  for (auto& [name, tensor] : model_->named_buffers()) state.emplace_back("buffer." + name, tensor);
  for (size_t t = 0; t < term_scale_.size(); ++t)
    if (term_scale_[t] != nullptr)
      state.emplace_back("term." + config_.topology[t].name + ".latent_scale", term_scale_[t]);
  for (auto& [name, tensor] : optimizer_->named_state()) state.emplace_back("optimizer." + name, tensor);
  return state;
}

uint64_t Trainer::state_hash() {
  uint64_t hash = 1469598103934665603ull;
  for (auto& [name, tensor] : state_tensors()) {
    const std::vector<float> values = tensor->to_vector<float>();
    const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
    for (size_t i = 0; i < values.size() * sizeof(float); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  return hash;
}

void Trainer::save_checkpoint() {
  Checkpoint checkpoint;
  checkpoint.meta = {{"step", step_}, {"optimizer_steps", optimizer_->step_count()}, {"config", config_.source}};
  for (auto& [name, tensor] : state_tensors()) checkpoint.tensors.emplace_back(name, *tensor);
  write_checkpoint_atomically(checkpoint_path(), checkpoint);
  last_checkpoint_step_ = step_;
}

void Trainer::load_checkpoint(const std::string& path) {
  const Checkpoint checkpoint = read_checkpoint(path);
  std::map<std::string, Tensor> stored(checkpoint.tensors.begin(), checkpoint.tensors.end());
  for (auto& [name, tensor] : state_tensors()) {
    const auto found = stored.find(name);
    TL_CHECK_AS(ValueError, found != stored.end(), "checkpoint '", path, "' has no tensor '", name,
                "' (it was written for another model or loss)");
    TL_CHECK_AS(ValueError, found->second.shape() == tensor->shape(), "checkpoint '", path, "': tensor '", name,
                "' has shape ", shape_str(found->second.shape()), ", the model expects ", shape_str(tensor->shape()));
    const bool trained = tensor->requires_grad();
    *tensor = found->second.to(config_.device);
    if (trained) tensor->set_requires_grad(true);
    stored.erase(found);
  }
  TL_CHECK_AS(ValueError, stored.empty(), "checkpoint '", path, "' holds tensor '", stored.begin()->first,
              "' that this model does not have");
  step_ = checkpoint.meta.at("step").get<int64_t>();
  optimizer_->set_step_count(checkpoint.meta.at("optimizer_steps").get<int64_t>());
  last_checkpoint_step_ = step_;
}

Tensor Trainer::topology_term(const TopologyTermConfig& term, size_t index, const Tensor& batch, const Tensor& latent,
                              const Tensor& reconstruction) {
  switch (term.kind) {
    case TermKind::Talsr: {
      topology::TalsrOptions options = term.talsr;
      options.target_diagrams = talsr_targets_[index];
      return topology::talsr_loss(batch, latent, options);
    }
    case TermKind::HomologicalAe:
      return topology::homological_ae_penalty(latent, term.homological);
    case TermKind::Signature:
      return topology::topological_signature_loss(batch, latent, term.signature,
                                                  term_scale_[index] ? *term_scale_[index] : Tensor());
    case TermKind::Landscape:
      return topology::landscape_loss(batch, latent, term.landscape);
    case TermKind::TopoVae:
      return topology::topovae_loss(reconstruction, batch, term.topovae, term.w0, term.w1, term.divide_by_batch);
    case TermKind::TopoVaeZ1:
      return topology::topovae_z1_loss(latent, batch, term.z1_scale, term.w0, term.w1, term.divide_by_batch);
    case TermKind::TopoGen:
      return topology::topogen_term(term.on_reconstruction ? reconstruction : latent, batch, term.topogen);
  }
  TL_FAIL(ValueError, "unknown topology term");
}

std::vector<Trainer::TermValue> Trainer::loss_terms(const Tensor& batch, double& topology_ms) {
  Generator noise(config_.seed ^ kNoiseKey, static_cast<uint64_t>(step_) << 32);
  const nn::AutoencoderOutput out = model_->run(batch, noise);
  std::vector<TermValue> terms;
  terms.push_back({"reconstruction", config_.reconstruction == "bce"
                                         ? bce_with_logits(out.reconstruction, batch, config_.reduction)
                                         : mse_loss(out.reconstruction, batch, config_.reduction)});
  if (config_.model.variational && config_.beta > 0.0f)
    terms.push_back({"kl", gaussian_kl(out.mu, out.logvar, config_.reduction) * config_.beta});
  const bool needs_values = std::any_of(config_.topology.begin(), config_.topology.end(), [](const auto& t) {
    return t.kind == TermKind::TopoVae || (t.kind == TermKind::TopoGen && t.on_reconstruction);
  });
  const Tensor reconstruction =
      needs_values && config_.reconstruction == "bce" ? sigmoid(out.reconstruction) : out.reconstruction;
  topology_ms = 0.0;
  for (size_t t = 0; t < config_.topology.size(); ++t) {
    const TopologyTermConfig& term = config_.topology[t];
    const float weight = term.ramp_steps > 0 ? topology::ramp_weight(step_, term.weight, term.ramp_steps) : term.weight;
    if (weight == 0.0f) continue;
    synchronize(config_.device);
    const auto start = Clock::now();
    terms.push_back({term.name, topology_term(term, t, batch, out.latent, reconstruction) * weight});
    synchronize(config_.device);
    topology_ms += elapsed_ms(start);
  }
  return terms;
}

void Trainer::open_log(bool resuming) {
  std::filesystem::create_directories(config_.output);
  std::vector<std::string> kept;
  if (resuming) {  // drop lines of steps after the checkpoint: they are about to be redone
    std::ifstream in(log_path(config_));
    for (std::string line; std::getline(in, line);) {
      const json record = json::parse(line, nullptr, false);
      if (!record.is_discarded() && record.value("step", int64_t(0)) <= step_ && !record.contains("error"))
        kept.push_back(line);
    }
  }
  std::ofstream out(log_path(config_), std::ios::trunc);
  TL_CHECK_AS(ValueError, out.good(), "cannot write the log '", log_path(config_), "'");
  for (const std::string& line : kept) out << line << "\n";
}

void Trainer::stop_diverged(std::ostream& log, int64_t epoch, const std::string& what) const {
  std::ostringstream message;
  message << "step " << step_ + 1 << " (epoch " << epoch + 1 << "): " << what << "; training stopped. ";
  if (last_checkpoint_step_ >= 0) {
    message << "The last good checkpoint (step " << last_checkpoint_step_ << ") is " << checkpoint_path();
  } else {
    message << "No checkpoint was written yet.";
  }
  log << json{{"step", step_ + 1}, {"error", message.str()}}.dump() << "\n";
  log.flush();
  throw TrainingDiverged(message.str());
}

void Trainer::train() {
  const int64_t per_epoch = steps_per_epoch();
  const int64_t total =
      config_.max_steps > 0 ? std::min(config_.max_steps, config_.epochs * per_epoch) : config_.epochs * per_epoch;
  open_log(step_ > 0);
  std::ofstream log(log_path(config_), std::ios::app);
  ProgressBar progress(config_.progress, total);
  const auto run_start = Clock::now();
  std::vector<Tensor> parameters;
  for (const auto& [name, tensor] : trained_) parameters.push_back(*tensor);
  std::map<std::string, std::pair<double, int64_t>> epoch_sums;
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  model_->train();
  while (step_ < total) {
    const int64_t epoch = step_ / per_epoch;
    const int64_t batch_index = step_ % per_epoch;
    if (epoch != order_epoch) {
      order = data::epoch_permutation(train_set_.size(), config_.seed, epoch);
      order_epoch = epoch;
      if (batch_index == 0) epoch_sums.clear();
    }
    const auto step_start = Clock::now();
    const std::vector<int64_t> rows(order.begin() + batch_index * config_.batch_size,
                                    order.begin() + (batch_index + 1) * config_.batch_size);
    const Tensor batch = data::gather_rows(train_set_, rows, config_.device);
    double topology_ms = 0.0;
    const std::vector<TermValue> terms = loss_terms(batch, topology_ms);

    json record = {{"step", step_ + 1}, {"epoch", epoch + 1}};
    std::vector<std::pair<std::string, double>> values;
    double total_value = 0.0;
    Tensor total_loss;
    for (const TermValue& term : terms) {
      const double value = term.value.item();
      if (!std::isfinite(value)) {
        std::ostringstream what;
        what << "loss term '" << term.name << "' is " << value;
        stop_diverged(log, epoch, what.str());
      }
      values.emplace_back(term.name, value);
      record[term.name] = value;
      total_value += value;
      total_loss = total_loss.defined() ? total_loss + term.value : term.value;
    }
    optimizer_->zero_grad();
    total_loss.backward();
    const double grad_norm = config_.clip_grad_norm > 0.0 ? nn::clip_grad_norm(parameters, config_.clip_grad_norm)
                                                          : nn::gradient_norm(parameters);
    if (!std::isfinite(grad_norm)) {
      std::string culprit = "?";
      for (const auto& [name, tensor] : trained_) {
        if (tensor->grad().defined() && !std::isfinite(nn::gradient_norm({*tensor}))) {
          culprit = name;
          break;
        }
      }
      stop_diverged(log, epoch, "the gradient of '" + culprit + "' is not finite (every loss term was)");
    }
    optimizer_->set_lr(config_.schedule.lr_at(config_.optimizer.lr, step_));
    optimizer_->step();
    synchronize(config_.device);
    const double step_ms = elapsed_ms(step_start);
    ++step_;

    step_ms_.push_back(step_ms);
    topology_ms_.push_back(topology_ms);
    record["total"] = total_value;
    record["lr"] = optimizer_->lr();
    record["grad_norm"] = grad_norm;
    record["model_ms"] = step_ms - topology_ms;
    record["topology_ms"] = topology_ms;
    log << record.dump() << "\n";
    for (const auto& [name, value] : values) {
      auto& [sum, count] = epoch_sums[name];
      sum += value;
      ++count;
    }
    epoch_means_.clear();
    for (const auto& [name, value] : values)
      epoch_means_.emplace_back(name, epoch_sums[name].first / static_cast<double>(epoch_sums[name].second));
    progress.update(step_, epoch, config_.epochs, per_epoch, epoch_means_, median(step_ms_));

    const bool epoch_end = step_ % per_epoch == 0;
    const bool periodic = config_.checkpoint_every > 0 && step_ % config_.checkpoint_every == 0;
    if (epoch_end || periodic || step_ == total) {
      log.flush();
      save_checkpoint();
    }
  }
  wall_seconds_ += std::chrono::duration<double>(Clock::now() - run_start).count();
}

json Trainer::evaluate() {
  NoGradGuard no_grad;
  model_->eval();
  json result;
  const int64_t n = test_set_.size();
  double reconstruction = 0.0, kl = 0.0, squared_error = 0.0;
  for (int64_t start = 0; start < n; start += 1000) {
    std::vector<int64_t> rows;
    for (int64_t i = start; i < std::min(n, start + 1000); ++i) rows.push_back(i);
    const Tensor x = data::gather_rows(test_set_, rows, config_.device);
    Generator noise(config_.seed ^ kNoiseKey, ~0ull << 32);
    const nn::AutoencoderOutput out = model_->run(x, noise);
    const bool bce = config_.reconstruction == "bce";
    reconstruction +=
        (bce ? bce_with_logits(out.reconstruction, x, Reduction::Sum) : mse_loss(out.reconstruction, x, Reduction::Sum))
            .item();
    const Tensor mean_reconstruction = model_->decode(out.latent);  // the posterior mean's, as forward() gives
    const Tensor values = bce ? sigmoid(mean_reconstruction) : mean_reconstruction;
    squared_error += mse_loss(values, x, Reduction::Sum).item();
    if (config_.model.variational) kl += gaussian_kl(out.mu, out.logvar, Reduction::Sum).item();
  }
  result["test_samples"] = n;
  result["reconstruction_per_sample"] = reconstruction / static_cast<double>(n);
  result["mse_per_feature"] = squared_error / static_cast<double>(n * test_set_.inputs.dim(1));
  if (config_.model.variational) result["kl_per_sample"] = kl / static_cast<double>(n);

  auto first_rows = [&](int64_t count) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < std::min(count, n); ++i) rows.push_back(i);
    return rows;
  };
  {
    const std::vector<int64_t> rows = first_rows(config_.evaluation.knn_points);
    const std::vector<int32_t> labels(test_set_.labels.begin(), test_set_.labels.begin() + rows.size());
    const Tensor x = data::gather_rows(test_set_, rows, config_.device);
    result["knn_k"] = config_.evaluation.knn;
    result["knn_samples"] = rows.size();
    result["knn_accuracy_latent"] = knn_accuracy(model_->encode(x), labels, config_.evaluation.knn);
    result["knn_accuracy_input"] = knn_accuracy(x, labels, config_.evaluation.knn);
  }
  {
    const std::vector<int64_t> rows = first_rows(config_.evaluation.topology_points);
    const Tensor x = data::gather_rows(test_set_, rows, Device::CPU);
    const Tensor z = model_->encode(x.to(config_.device)).to(Device::CPU);
    // Diagrams of each cloud divided by its diameter, so input and latent scales do not matter.
    const topology::PersistenceResult px = topology::persistence(x), pz = topology::persistence(z);
    auto diameter = [](const Tensor& points) {
      const std::vector<float> d = topology::pairwise_distances(points).to_vector<float>();
      return std::max(*std::max_element(d.begin(), d.end()), 1e-12f);
    };
    const float dx = diameter(x), dz = diameter(z);
    result["topology_samples"] = rows.size();
    for (int dim = 0; dim <= 1; ++dim) {
      const std::string key = "h" + std::to_string(dim);
      result[key + "_w1_scaled"] =
          topology::wasserstein_matching(scaled_pairs(px, dim, dx), scaled_pairs(pz, dim, dz), 1.0).distance;
      result[key + "_bars_input"] = px.diagrams[dim].pairs.size();
      result[key + "_bars_latent"] = pz.diagrams[dim].pairs.size();
    }
  }
  model_->train();
  return result;
}

void Trainer::write_report(const json& evaluation) const {
  json train = {{"steps", step_},
                {"epochs_completed", static_cast<double>(step_) / static_cast<double>(steps_per_epoch())},
                {"median_step_ms", median(step_ms_)},
                {"median_topology_ms", median(topology_ms_)},
                {"wall_seconds_this_run", wall_seconds_}};
  for (const auto& [name, value] : epoch_means_) train["last_epoch_mean"][name] = value;
  const json report = {{"config", config_.source},
                       {"device", device_name(config_.device)},
                       {"model_parameters", model_->parameter_count()},
                       {"train", train},
                       {"test", evaluation}};
  std::filesystem::create_directories(config_.output);
  std::ofstream(config_.output + "/report.json") << report.dump(2) << "\n";

  std::ofstream md(config_.output + "/report.md");
  md << "# topolatent training report\n\n";
  md << "Model `" << config_.model_name << "` (" << model_->parameter_count() << " parameters), data `"
     << train_set_.name << "` (" << train_set_.size() << " training, " << test_set_.size() << " test samples), device "
     << device_name(config_.device) << ", seed " << config_.seed << ".\n\n";
  md << "## Training\n\n| quantity | value |\n| --- | --- |\n";
  md << "| steps | " << step_ << " |\n| median step (ms) | " << median(step_ms_) << " |\n"
     << "| median topology forward (ms) | " << median(topology_ms_) << " |\n";
  for (const auto& [name, value] : epoch_means_) md << "| last-epoch mean " << name << " | " << value << " |\n";
  md << "\n## Test set\n\n| metric | value |\n| --- | --- |\n";
  for (const auto& [key, value] : evaluation.items()) md << "| " << key << " | " << value.dump() << " |\n";
  md << "\nMetric notes: reconstruction_per_sample is the training reconstruction loss summed over one sample's "
        "features; knn_accuracy_* is leave-one-out "
     << config_.evaluation.knn
     << "-NN label accuracy in the latent and the input space; h*_w1_scaled is the 1-Wasserstein distance between "
        "the input's and the latent's diagrams, each divided by its cloud's diameter.\n\nConfig:\n\n```json\n"
     << config_.source.dump(2) << "\n```\n";
}

}  // namespace tl::train
