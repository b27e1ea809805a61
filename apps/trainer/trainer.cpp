// The training loop of tl_train, its JSONL log and its checkpoints.
#include "apps/trainer/trainer.h"

#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/data_parallel.h"
#include "apps/trainer/evaluation.h"
#include "apps/trainer/progress.h"
#include "core/autograd.h"
#include "core/base/memory.h"
#include "core/ops.h"
#include "kernels/backend.h"
#include "nn/data/point_cloud_io.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

using nlohmann::json;

// Mixed into the config's seed for data.embed_dim's frame and for the ambient noise of each split.
constexpr uint64_t kEmbeddingFrameKey = 0xF4A3'E000'0000'0003ull;
constexpr uint64_t kEmbeddingTrainNoiseKey = 0xA3B1'E000'0000'0004ull;
constexpr uint64_t kEmbeddingTestNoiseKey = 0xA3B1'E000'0000'0005ull;
// Mixed into data.split_seed for the permutation of the validation split (the test split's is data::test_split_rows).
constexpr uint64_t kValidationSplitKey = 0x7A11'DA7E'0000'0002ull;

void synchronize(Device device) {
  if (device == Device::CUDA) cuda_runtime::synchronize();
}

std::string log_path(const TrainConfig& config) {
  return config.output + "/log.jsonl";
}

// Refuses a run longer than kMaxSteps; epochs is compared by division, so that no product can overflow.
void check_run_length(const TrainConfig& config, int64_t per_epoch) {
  TL_CHECK_AS(ValueError, config.max_steps <= kMaxSteps, "max_steps=", config.max_steps, " exceeds the ", kMaxSteps,
              " steps a run may take");
  TL_CHECK_AS(ValueError, config.epochs <= kMaxSteps / per_epoch, "epochs=", config.epochs, " of ", per_epoch,
              " steps each exceeds the ", kMaxSteps, " steps a run may take");
}

// The length of the run the cosine schedule decays over: max_steps when set, else the epochs' steps.
int64_t schedule_horizon(const TrainConfig& config, int64_t per_epoch) {
  return config.max_steps > 0 ? config.max_steps : config.epochs * per_epoch;
}

// A checkpoint's step and its optimiser's step count: integers with 0 <= optimizer_steps <= step <= kMaxSteps.
std::pair<int64_t, int64_t> stored_counters(const json& meta, const std::string& path) {
  const auto counter = [&](const char* key, int64_t most) {
    const bool ok = meta.contains(key) && meta.at(key).is_number_integer() && meta.at(key).get<int64_t>() >= 0 &&
                    meta.at(key).get<int64_t>() <= most;
    TL_CHECK_AS(ValueError, ok, "checkpoint '", path, "': \"", key, "\" must be an integer in [0, ", most, "], got ",
                meta.contains(key) ? meta.at(key).dump() : "nothing");
    return meta.at(key).get<int64_t>();
  };
  const int64_t step = counter("step", kMaxSteps);
  return {step, counter("optimizer_steps", step)};
}

bool is_npy(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}

// Runs a reader of the file that config key data.<key> names; its errors (which name the file) are prefixed with
// the key, and a missing file is named as such.
template <class Read>
auto read_data_file(const std::string& key, const std::string& path, Read read) {
  std::error_code error;
  TL_CHECK_AS(ValueError, std::filesystem::exists(path, error), "config key 'data.", key, "' names '", path,
              "', which does not exist");
  try {
    return read(path);
  } catch (const ValueError& e) {
    TL_FAIL(ValueError, "config key 'data.", key, "': ", e.what());
  }
}

// The features of data.<key> and the labels of data.<labels_key> (every label 0 when it is empty).
data::Dataset read_arrays(const std::string& key, const std::string& path, const std::string& labels_key,
                          const std::string& labels_path) {
  data::Dataset set{std::filesystem::path(path).stem().string(),
                    read_data_file(key, path,
                                   [](const std::string& p) {
                                     return is_npy(p) ? data::read_npy_points(p) : data::read_csv_points(p);
                                   }),
                    {}};
  if (labels_path.empty()) {
    set.labels.assign(static_cast<size_t>(set.size()), 0);
    return set;
  }
  set.labels = read_data_file(labels_key, labels_path, [](const std::string& p) { return data::read_labels(p); });
  TL_CHECK_AS(ValueError, static_cast<int64_t>(set.labels.size()) == set.size(), "config key 'data.", labels_key,
              "': '", labels_path, "' holds ", set.labels.size(), " labels for the ", set.size(), " rows of 'data.",
              key, "' ('", path, "')");
  return set;
}

// The first `limit` rows of `set` (all of them when limit is 0 or at least its size).
data::Dataset limited(data::Dataset set, int64_t limit) {
  if (limit == 0 || limit >= set.size()) return set;
  std::vector<int64_t> rows(static_cast<size_t>(limit));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return data::select_rows(set, rows);
}

// `whole` split by data.test_fraction under data.split_seed; `what` names the split rows in errors.
std::pair<data::Dataset, data::Dataset> split_test(const data::Dataset& whole, const DataConfig& config,
                                                   const std::string& what) {
  auto parts = data::split_test_rows(whole, config.test_fraction, config.split_seed);
  TL_CHECK_AS(ValueError, parts.first.size() > 0, "config key 'data.test_fraction' (", config.test_fraction,
              ") leaves no training rows of the ", whole.size(), " of ", what);
  return parts;
}

// The training and the test split of the configured data, before the validation split and standardisation.
std::pair<data::Dataset, data::Dataset> load_splits(const TrainConfig& config) {
  const DataConfig& data = config.data;
  if (data.source == DataSource::Idx) {
    if (data.split_from.empty()) {
      return {data::load_idx_dataset(data.path, data::Split::Train, data.limit),
              data::load_idx_dataset(data.path, data::Split::Test, data.test_limit)};
    }
    const data::Split file_set = data.split_from == "train" ? data::Split::Train : data::Split::Test;
    auto [train, test] = split_test(data::load_idx_dataset(data.path, file_set), data,
                                    "the " + data.split_from + " files of '" + data.path + "'");
    return {limited(std::move(train), data.limit), limited(std::move(test), data.test_limit)};
  }
  if (data.source == DataSource::Synthetic) {
    // With embed_dim, every split shares the frame (drawn under the set's seed) and draws its own ambient noise.
    const auto embedded = [&](data::Dataset set, uint64_t noise_key) {
      if (data.embed_dim == 0) return set;
      TL_CHECK_AS(ValueError, data.embed_dim >= set.inputs.dim(1), "config key 'data.embed_dim' (", data.embed_dim,
                  ") is below the ", set.inputs.dim(1), " features of the synthetic set '", data.name, "'");
      return data::embed_isometrically(set, data.embed_dim, data.noise, config.seed ^ kEmbeddingFrameKey,
                                       config.seed ^ noise_key);
    };
    const data::Dataset drawn =
        embedded(data::synthetic_dataset(data.name, data.count, config.seed, data.noise), kEmbeddingTrainNoiseKey);
    if (data.test_fraction > 0.0) return split_test(drawn, data, "the synthetic set '" + data.name + "'");
    return {drawn,
            embedded(data::synthetic_test_dataset(data.name, std::max<int64_t>(data.count / 10, config.batch_size),
                                                  config.seed, data.noise),
                     kEmbeddingTestNoiseKey)};
  }
  const data::Dataset train = read_arrays("train", data.train, "train_labels", data.train_labels);
  if (data.test.empty()) return split_test(train, data, "'data.train' ('" + data.train + "')");
  data::Dataset test = read_arrays("test", data.test, "test_labels", data.test_labels);
  TL_CHECK_AS(ValueError, test.inputs.dim(1) == train.inputs.dim(1), "config key 'data.test': '", data.test, "' has ",
              test.inputs.dim(1), " features per row, 'data.train' ('", data.train, "') has ", train.inputs.dim(1));
  return {train, test};
}

// The configured data's training, validation (empty without one) and test splits, standardised when asked.
struct Splits {
  data::Dataset train, validation, test;
};

Splits load_datasets(const TrainConfig& config) {
  Splits splits;
  std::tie(splits.train, splits.test) = load_splits(config);
  if (config.data.standardize) {
    const data::Standardization fitted = data::fit_standardization(splits.train.inputs);
    data::standardize(splits.train, fitted);
    data::standardize(splits.test, fitted);
  }
  if (config.validation.fraction > 0.0) {
    const data::RowSplit split =
        data::split_rows(splits.train.size(), config.validation.fraction, config.data.split_seed ^ kValidationSplitKey);
    TL_CHECK_AS(ValueError, split.test.size() >= 2, "config key 'validation.fraction' (", config.validation.fraction,
                ") holds out ", split.test.size(), " of the ", splits.train.size(),
                " training rows; the validation loss needs at least 2");
    TL_CHECK_AS(ValueError, static_cast<int64_t>(split.train.size()) >= config.batch_size,
                "config key 'validation.fraction' (", config.validation.fraction, ") leaves ", split.train.size(),
                " of the ", splits.train.size(), " training rows, fewer than batch_size ", config.batch_size);
    splits.validation = data::select_rows(splits.train, split.test);
    splits.train = data::select_rows(splits.train, split.train);
  }
  return splits;
}

// The log stream of a process that writes no files (a data-parallel run's ranks above 0): accepts and drops.
class DiscardingStream : public std::ostream {
 public:
  DiscardingStream() : std::ostream(&buffer_) {}

 private:
  struct Buffer : std::streambuf {
    int overflow(int c) override { return traits_type::not_eof(c); }
  } buffer_;
};

// The topology terms need three points at least (a gathered batch in a data-parallel run).
constexpr int64_t kMinTopologyRows = 3;

// While it lives, the processes of a data-parallel run on one machine share its cores: OpenMP teams of all the cores
// each would oversubscribe them. Afterwards the team size is restored, so that rank 0's evaluation, which the others
// do not join, has every core again. A process the launcher bound to some cores (Open MPI binds to a core for 2
// processes) already sees only those, and OMP_NUM_THREADS, when set, is the user's choice: both are left alone.
class CoresShared {
 public:
  explicit CoresShared(int local_processes) : threads_before_(omp_get_max_threads()) {
    const bool sees_every_core = omp_get_num_procs() >= static_cast<int>(std::thread::hardware_concurrency());
    if (local_processes > 1 && sees_every_core && std::getenv("OMP_NUM_THREADS") == nullptr)
      omp_set_num_threads(std::max(1, omp_get_num_procs() / local_processes));
  }
  ~CoresShared() { omp_set_num_threads(threads_before_); }
  CoresShared(const CoresShared&) = delete;
  CoresShared& operator=(const CoresShared&) = delete;

 private:
  int threads_before_;
};

// The running mean of each loss term over the current epoch (over the steps of it this run took).
class EpochMeans {
 public:
  void restart() { sums_.clear(); }

  // Adds one step's values; returns each term's mean so far, in the order of `values`.
  std::vector<std::pair<std::string, double>> add(const std::vector<std::pair<std::string, double>>& values) {
    std::vector<std::pair<std::string, double>> means;
    for (const auto& [name, value] : values) {
      auto& [sum, count] = sums_[name];
      sum += value;
      ++count;
      means.emplace_back(name, sum / static_cast<double>(count));
    }
    return means;
  }

 private:
  std::map<std::string, std::pair<double, int64_t>> sums_;
};

}  // namespace

bool all_finite(const Tensor& tensor) {
  // Squares summed in double overflow for no finite float32 tensor: the sum is finite exactly when every element is.
  return std::isfinite(kernels::backend_for(tensor.device()).sum_squares(tensor.data<float>(), tensor.numel()));
}

Trainer::Trainer(TrainConfig config, EarlierRun earlier)
    : config_(std::move(config)),
      earlier_(earlier),
      group_(process_group()),
      best_validation_loss_(std::numeric_limits<double>::infinity()) {
  TL_CHECK_AS(ValueError, config_.batch_size % group_.size() == 0, "batch_size ", config_.batch_size,
              " does not split into the ", group_.size(), " processes of this run (mpirun -np ", group_.size(),
              "): use a multiple of ", group_.size());
  if (group_.size() > 1 && config_.device == Device::CUDA) group_.select_cuda_device();
  // A diffusion step's topology rows vary (those below topology_max_t); its terms skip a step with fewer than 3.
  const int64_t topology_rows =
      config_.distributed.per_rank_topology ? config_.batch_size / group_.size() : config_.batch_size;
  TL_CHECK_AS(ValueError,
              config_.topology.empty() || config_.family == Family::Diffusion || topology_rows >= kMinTopologyRows,
              "the topology terms see ", topology_rows, " rows (batch_size ", config_.batch_size,
              config_.distributed.per_rank_topology ? " over " + std::to_string(group_.size()) + " processes" : "",
              "), fewer than the ", kMinTopologyRows, " they need");
  Splits splits = load_datasets(config_);
  train_set_ = std::move(splits.train);
  validation_set_ = std::move(splits.validation);
  test_set_ = std::move(splits.test);
  TL_CHECK_AS(ValueError, train_set_.inputs.dim(1) == data_width(config_), "the data set '", train_set_.name, "' has ",
              train_set_.inputs.dim(1), " features but the model expects ", data_width(config_),
              " (set model.input, or pick a model preset for this data)");
  TL_CHECK_AS(ValueError, train_set_.size() >= config_.batch_size, "batch_size ", config_.batch_size, " exceeds the ",
              train_set_.size(), " training samples");

  // The initial weights depend on the model spec and init_seed only (not on the loss terms, built after it), so
  // arms of an experiment that differ in their terms start from the same weights.
  Generator init(config_.init_seed);
  family_ = make_model_family(config_, init);
  for (size_t phase = 0; phase < family_->phases().size(); ++phase)
    trained_.push_back(family_->phase_parameters(phase));
  build_loss_terms();
  check_run_length(config_, steps_per_epoch());
  config_.schedule.total_steps = schedule_horizon(config_, steps_per_epoch());
  for (size_t phase = 0; phase < trained_.size(); ++phase) {
    nn::OptimizerOptions options = config_.optimizer;
    const bool discriminator = config_.family == Family::Gan && phase == 0 && config_.gan.discriminator_lr > 0.0f;
    if (discriminator) options.lr = config_.gan.discriminator_lr;
    base_lr_.push_back(options.lr);
    optimizers_.push_back(std::make_unique<nn::Optimizer>(trained_[phase], options));
  }
}

// Builds each configured term; its learnable scalars join the topology phase's trained parameters as
// "<term name>.<scalar>".
void Trainer::build_loss_terms() {
  const LossTermSetup setup{train_set_, config_.seed, config_.device};
  for (const TopologyTermConfig& term : config_.topology) {
    loss_terms_.push_back(term.parsed->build(setup));
    for (const auto& [name, tensor] : loss_terms_.back()->parameters())
      trained_[family_->topology_phase()].emplace_back(term.name + "." + name, tensor);
    terms_need_reconstruction_ = terms_need_reconstruction_ || loss_terms_.back()->needs_reconstruction();
  }
}

int64_t Trainer::steps_per_epoch() const {
  return train_set_.size() / config_.batch_size;
}

int64_t Trainer::total_steps() const {
  const int64_t epochs_steps = config_.epochs * steps_per_epoch();
  return config_.max_steps > 0 ? std::min(config_.max_steps, epochs_steps) : epochs_steps;
}

std::string Trainer::checkpoint_path() const {
  return config_.output + "/checkpoint.tlc";
}

std::string Trainer::best_checkpoint_path() const {
  return config_.output + "/best.tlc";
}

std::vector<std::pair<std::string, Tensor*>> Trainer::state_tensors() {
  std::vector<std::pair<std::string, Tensor*>> state;
  for (auto& [name, tensor] : family_->module().named_parameters()) state.emplace_back("model." + name, tensor);
  for (auto& [name, tensor] : family_->module().named_buffers()) state.emplace_back("buffer." + name, tensor);
  for (size_t t = 0; t < loss_terms_.size(); ++t)
    for (auto& [name, tensor] : loss_terms_[t]->parameters())
      state.emplace_back("term." + config_.topology[t].name + "." + name, tensor);
  // One optimiser: "optimizer.<moment>"; several (a GAN's): "optimizer.<phase>.<moment>".
  const std::vector<std::string> phases = family_->phases();
  for (size_t phase = 0; phase < optimizers_.size(); ++phase) {
    const std::string prefix = optimizers_.size() == 1 ? "optimizer." : "optimizer." + phases[phase] + ".";
    for (auto& [name, tensor] : optimizers_[phase]->named_state()) state.emplace_back(prefix + name, tensor);
  }
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

// Refuses to write or call good a state that is not finite: a parameter or an optimiser moment can overflow in an
// update while the loss and the gradient were still finite.
void Trainer::check_state_finite(std::ostream& log, int64_t epoch) {
  for (auto& [name, tensor] : state_tensors())
    if (!all_finite(*tensor)) stop_diverged(log, step_, epoch, "'" + name + "' is not finite after the update");
}

void Trainer::save_checkpoint(std::ostream& log, int64_t epoch) {
  flush_log(log);
  check_state_finite(log, epoch);
  Checkpoint checkpoint;
  checkpoint.meta = {
      {"step", step_}, {"optimizer_steps", optimizers_.front()->step_count()}, {"config", config_.source}};
  if (validating()) checkpoint.meta["validation"] = validation_meta();
  if (group_.size() > 1) checkpoint.meta["processes"] = group_.size();
  if (writes_files()) {
    for (auto& [name, tensor] : state_tensors()) checkpoint.tensors.emplace_back(name, *tensor);
    write_checkpoint_atomically(checkpoint_path(), checkpoint);
  }
  last_checkpoint_path_ = checkpoint_path();
  last_checkpoint_step_ = step_;
}

void Trainer::load_checkpoint(const std::string& path) {
  const Checkpoint checkpoint = read_checkpoint(path);
  const auto [step, optimizer_steps] = stored_counters(checkpoint.meta, path);
  check_schedule_horizon(checkpoint.meta, path);
  check_process_count(checkpoint.meta, path);
  if (validating()) restore_validation_meta(checkpoint.meta, path, step);
  restore_tensors(checkpoint.tensors, path);
  step_ = step;
  for (auto& optimizer : optimizers_) optimizer->set_step_count(optimizer_steps);  // every phase steps once a step
  resumed_from_ = last_checkpoint_path_ = path;
  last_checkpoint_step_ = step_;
}

// Replaces parameters, buffers, term scalars and optimiser moments with the checkpoint's, once it is known to hold
// exactly this state's tensors, in their shapes, with finite values.
void Trainer::restore_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& path) {
  std::map<std::string, const Tensor*> stored;
  for (const auto& [name, tensor] : tensors) stored.emplace(name, &tensor);
  const std::vector<std::pair<std::string, Tensor*>> state = state_tensors();
  std::set<std::string> expected;
  for (const auto& [name, tensor] : state) {
    const auto found = stored.find(name);
    TL_CHECK_AS(ValueError, found != stored.end(), "checkpoint '", path, "' has no tensor '", name,
                "' (it was written for another model or loss)");
    TL_CHECK_AS(ValueError, found->second->shape() == tensor->shape(), "checkpoint '", path, "': tensor '", name,
                "' has shape ", shape_str(found->second->shape()), ", the model expects ", shape_str(tensor->shape()));
    TL_CHECK_AS(ValueError, all_finite(*found->second), "checkpoint '", path, "': tensor '", name,
                "' holds NaN or infinite values");
    expected.insert(name);
  }
  for (const auto& [name, tensor] : stored)
    TL_CHECK_AS(ValueError, expected.count(name) != 0, "checkpoint '", path, "' holds tensor '", name,
                "' that this model does not have");
  for (const auto& [name, tensor] : state) {
    const bool trained = tensor->requires_grad();
    *tensor = stored.at(name)->to(config_.device);
    if (trained) tensor->set_requires_grad(true);
  }
}

// A data-parallel run splits its batches and noise draws by its process count, so it resumes with the same count.
void Trainer::check_process_count(const json& meta, const std::string& path) const {
  const json stored = meta.contains("processes") ? meta.at("processes") : json(1);
  TL_CHECK_AS(ValueError, stored.is_number_integer() && stored.get<int64_t>() == group_.size(), "checkpoint '", path,
              "' was trained by ", stored.dump(), " process(es); this run has ", group_.size(),
              ": resume it with mpirun -np ", stored.dump(),
              " (a run's batches and noise draws are split by its "
              "process count)");
}

// Under a cosine schedule every step's learning rate depends on the run's length, so a resumed run must keep the
// length its checkpoint was trained toward; the other schedules do not depend on it.
void Trainer::check_schedule_horizon(const json& meta, const std::string& path) const {
  if (config_.schedule.kind != nn::LearningRateSchedule::Kind::Cosine) return;
  TL_CHECK_AS(ValueError, meta.contains("config"), "checkpoint '", path,
              "' holds no training config (it was not written by tl_train)");
  const TrainConfig stored = parse_config(meta.at("config"));
  check_run_length(stored, steps_per_epoch());
  const int64_t horizon = schedule_horizon(stored, steps_per_epoch());
  TL_CHECK_AS(
      ValueError, horizon == config_.schedule.total_steps,
      "the cosine schedule decays the learning rate over the run's length: checkpoint '", path,
      "' was trained toward step ", horizon, ", this run (epochs=", config_.epochs, ", max_steps=", config_.max_steps,
      ") would decay toward step ", config_.schedule.total_steps,
      ", so its learning rate would jump; resume with the checkpoint's epochs and max_steps, or start a new run");
}

// Refuses a run with nothing left to do (a resumed checkpoint at or beyond the run's end), rather than training no
// step and naming a checkpoint that was never written.
void Trainer::check_steps_left(int64_t until) const {
  TL_CHECK_AS(ValueError, !patience_ran_out(), "nothing is left to train: the run stopped early after epoch ",
              step_ / steps_per_epoch(), " (checkpoint '", resumed_from_,
              "'): the validation loss has not improved on ", "epoch ", best_epoch_, "'s for ", epochs_since_best_,
              " epochs (validation.patience ", config_.validation.patience, ")");
  TL_CHECK_AS(ValueError, until <= total_steps(), "cannot train to step ", until, ": the run ends at step ",
              total_steps());
  const std::string from = resumed_from_.empty() ? "" : " (checkpoint '" + resumed_from_ + "')";
  TL_CHECK_AS(ValueError, step_ < until, "nothing is left to train: the run is at step ", step_, from,
              " and ends at step ", until, " (epochs=", config_.epochs, " of ", steps_per_epoch(),
              " steps, max_steps=", config_.max_steps, "); give a larger epochs=N or max_steps=N");
}

// The losses of one phase of the family's step; the topology terms are weighted (and ramped in) at this step, a term
// of weight 0 skipped, and timed into topology_ms.
std::vector<NamedLoss> Trainer::phase_losses(size_t phase, const Tensor& batch, Generator& noise,
                                             const nn::RowShard& shard, bool ramped, double* topology_ms) {
  TopologyTerms topology;
  topology.needs_reconstruction = terms_need_reconstruction_;
  topology.apply = [&](const LossTermBatch& local) {
    // The terms of non-zero weight at this step (the same on every process of a data-parallel run).
    std::vector<std::pair<size_t, float>> active;
    for (size_t t = 0; t < loss_terms_.size(); ++t) {
      const TopologyTermConfig& term = config_.topology[t];
      const float weight =
          ramped && term.ramp_steps > 0 ? topology::ramp_weight(step_, term.weight, term.ramp_steps) : term.weight;
      if (weight != 0.0f) active.emplace_back(t, weight);
    }
    std::vector<NamedLoss> terms;
    if (active.empty()) return terms;
    const bool gathered = shard.split() && !config_.distributed.per_rank_topology;
    const Tensor whole_batch = gathered ? gather_rows(local.batch, group_) : local.batch;
    const Tensor whole_latent = gathered ? gather_rows(local.latent, group_) : local.latent;
    const Tensor whole_reconstruction =
        gathered && terms_need_reconstruction_ ? gather_rows(local.reconstruction, group_) : local.reconstruction;
    const LossTermBatch inputs{whole_batch, whole_latent, whole_reconstruction};
    if (whole_batch.dim(0) < kMinTopologyRows) {
      // Too few rows for a diagram. A process of a per-rank run keeps every term, at zero, so that all processes
      // log and average the same list.
      if (shard.split() && !gathered)
        for (const auto& [t, weight] : active) terms.push_back({config_.topology[t].name, sum(local.latent) * 0.0f});
      return terms;
    }
    for (const auto& [t, weight] : active) {
      synchronize(config_.device);
      const auto start = Clock::now();
      terms.push_back({config_.topology[t].name, loss_terms_[t]->loss(inputs) * weight});
      synchronize(config_.device);
      if (topology_ms != nullptr) *topology_ms += elapsed_ms(start);
    }
    return terms;
  };
  return family_->phase_losses(phase, {batch, noise, topology, shard});
}

// The validation loss: the training objective of the current state in eval mode (no VAE draw, batch norm on its
// running statistics), every topology term at its full weight (a ramp would make epochs incomparable), over fixed
// batches of batch_size validation rows in order (the last takes the remainder, so no batch is smaller than
// batch_size when there are that many rows), each batch's total weighted by its rows. Deterministic.
double Trainer::validation_loss() {
  TL_CHECK_AS(ValueError, validation_set_.size() > 0, "validation_loss: the run has no validation split");
  NoGradGuard no_grad;
  family_->module().eval();
  const int64_t n = validation_set_.size();
  const int64_t batches = std::max<int64_t>(1, n / config_.batch_size);
  double weighted = 0.0;
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t first = b * config_.batch_size, last = b + 1 == batches ? n : first + config_.batch_size;
    std::vector<int64_t> rows;
    for (int64_t i = first; i < last; ++i) rows.push_back(i);
    const Tensor batch = data::gather_rows(validation_set_, rows, config_.device);
    Generator noise(config_.seed ^ kNoiseSeedKey, ~0ull << 32);
    double total = 0.0;
    for (const NamedLoss& term : phase_losses(0, batch, noise, {}, false, nullptr)) total += term.value.item();
    weighted += total * static_cast<double>(last - first);
  }
  family_->module().train();
  return weighted / static_cast<double>(n);
}

bool Trainer::patience_ran_out() const {
  return validating() && config_.validation.patience > 0 && best_epoch_ > 0 &&
         epochs_since_best_ >= config_.validation.patience;
}

// The validation record of a checkpoint: the best loss (null before the first validation), its epoch, epochs since.
json Trainer::validation_meta() const {
  return {{"best_loss", best_epoch_ > 0 ? json(best_validation_loss_) : json()},
          {"best_epoch", best_epoch_},
          {"epochs_since_best", epochs_since_best_}};
}

// Reads and range-checks the validation record of a checkpoint at `step`: epochs in [0, the epochs done], a finite
// best loss exactly when there is a best epoch.
void Trainer::restore_validation_meta(const json& meta, const std::string& path, int64_t step) {
  TL_CHECK_AS(ValueError, meta.contains("validation") && meta.at("validation").is_object(), "checkpoint '", path,
              "' holds no \"validation\" record, but this config has a validation split (it was written without one)");
  const json& record = meta.at("validation");
  const int64_t epochs_done = step / steps_per_epoch();
  const auto epochs = [&](const char* key) {
    const bool ok = record.contains(key) && record.at(key).is_number_integer() && record.at(key).get<int64_t>() >= 0 &&
                    record.at(key).get<int64_t>() <= epochs_done;
    TL_CHECK_AS(ValueError, ok, "checkpoint '", path, "': \"validation.", key, "\" must be an integer in [0, ",
                epochs_done, "], got ", record.contains(key) ? record.at(key).dump() : "nothing");
    return record.at(key).get<int64_t>();
  };
  const int64_t best_epoch = epochs("best_epoch"), since = epochs("epochs_since_best");
  const json best = record.contains("best_loss") ? record.at("best_loss") : json("missing");
  const bool ok = best_epoch == 0
                      ? best.is_null() && since == 0
                      : best.is_number() && std::isfinite(best.get<double>()) && since + best_epoch <= epochs_done;
  TL_CHECK_AS(ValueError, ok, "checkpoint '", path, "': \"validation.best_loss\" ", best.dump(),
              " does not fit best_epoch ", best_epoch, " and epochs_since_best ", since,
              " (a finite loss exactly when there is a best epoch)");
  best_epoch_ = best_epoch;
  epochs_since_best_ = since;
  best_validation_loss_ = best_epoch == 0 ? std::numeric_limits<double>::infinity() : best.get<double>();
}

void Trainer::validate_epoch(std::ostream& log, int64_t epoch) {
  // Every process decides early stopping and the best state from the same number (their batch-norm statistics,
  // which each process tracks on its own rows, may differ).
  const double own_loss = validation_loss();
  const double loss = group_.size() > 1 ? average_values({own_loss}, group_).front() : own_loss;
  if (!std::isfinite(loss)) {
    std::ostringstream what;
    what << "the validation loss is " << loss;
    stop_diverged(log, step_, epoch, what.str());
  }
  log << json{{"epoch", epoch + 1}, {"validation_loss", loss}}.dump() << "\n";
  if (loss < best_validation_loss_) {
    best_validation_loss_ = loss;
    best_epoch_ = epoch + 1;
    epochs_since_best_ = 0;
    flush_log(log);
    check_state_finite(log, epoch);
    Checkpoint best;
    best.meta = {{"step", step_},
                 {"optimizer_steps", optimizers_.front()->step_count()},
                 {"config", config_.source},
                 {"validation", validation_meta()}};
    if (group_.size() > 1) best.meta["processes"] = group_.size();
    if (writes_files()) {
      for (auto& [name, tensor] : state_tensors()) best.tensors.emplace_back(name, *tensor);
      write_checkpoint_atomically(best_checkpoint_path(), best);
    }
  } else {
    ++epochs_since_best_;
  }
}

// A resumed run writing into another directory takes the best state chosen so far with it.
void Trainer::copy_best_checkpoint() const {
  if (best_epoch_ == 0 || resumed_from_.empty() || continues_in_place()) return;
  const std::string source = directory_of(resumed_from_) + "/best.tlc";
  std::ifstream in(source, std::ios::binary);
  TL_CHECK_AS(ValueError, in.good(), "checkpoint '", resumed_from_, "' records a best epoch ", best_epoch_,
              ", but its best state '", source, "' cannot be read");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_file_atomically(best_checkpoint_path(), bytes);
}

// A model of this config holding the parameters and buffers of best.tlc.
std::unique_ptr<ModelFamily> Trainer::best_model() const {
  const std::string path = best_checkpoint_path();
  const Checkpoint checkpoint = read_checkpoint(path);
  std::map<std::string, const Tensor*> stored;
  for (const auto& [name, tensor] : checkpoint.tensors) stored.emplace(name, &tensor);
  Generator init(config_.init_seed);
  std::unique_ptr<ModelFamily> model = make_model_family(config_, init);
  std::vector<std::pair<std::string, Tensor*>> state;
  for (auto& [name, tensor] : model->module().named_parameters()) state.emplace_back("model." + name, tensor);
  for (auto& [name, tensor] : model->module().named_buffers()) state.emplace_back("buffer." + name, tensor);
  for (auto& [name, tensor] : state) {
    const auto found = stored.find(name);
    TL_CHECK_AS(ValueError, found != stored.end() && found->second->shape() == tensor->shape(), "best state '", path,
                "' has no tensor '", name, "' of shape ", shape_str(tensor->shape()));
    const bool trained = tensor->requires_grad();
    *tensor = found->second->to(config_.device);
    if (trained) tensor->set_requires_grad(true);
  }
  return model;
}

// Each term's value; stops training on the first that is not finite.
std::vector<std::pair<std::string, double>> Trainer::checked_values(const std::vector<NamedLoss>& terms,
                                                                    std::ostream& log, int64_t epoch) const {
  std::vector<double> raw;
  for (const NamedLoss& term : terms) raw.push_back(term.value.item());
  // A data-parallel run logs the mean over its processes, and every process sees the same non-finite value.
  if (group_.size() > 1) raw = average_values(raw, group_);
  std::vector<std::pair<std::string, double>> values;
  for (size_t t = 0; t < terms.size(); ++t) {
    if (!std::isfinite(raw[t])) {
      std::ostringstream what;
      what << "loss term '" << terms[t].name << "' is " << raw[t];
      stop_diverged(log, step_ + 1, epoch, what.str());
    }
    values.emplace_back(terms[t].name, raw[t]);
  }
  return values;
}

// Backpropagates the sum of the phase's terms, clips (when configured) and steps the phase's optimiser at this step's
// learning rate; stops training, naming the parameter, when the gradient is not finite. Returns the gradient norm
// of the phase's parameters.
double Trainer::backward_and_update(size_t phase, const std::vector<NamedLoss>& terms, std::ostream& log,
                                    int64_t epoch) {
  Tensor total_loss = terms.front().value;
  for (size_t t = 1; t < terms.size(); ++t) total_loss = total_loss + terms[t].value;
  std::vector<Tensor> parameters;
  for (const auto& [name, tensor] : trained_[phase]) parameters.push_back(*tensor);
  nn::Optimizer& optimizer = *optimizers_[phase];
  optimizer.zero_grad();
  total_loss.backward();
  if (group_.size() > 1) average_gradients(parameters, group_);
  const double grad_norm = config_.clip_grad_norm > 0.0 ? nn::clip_grad_norm(parameters, config_.clip_grad_norm)
                                                        : nn::gradient_norm(parameters);
  if (!std::isfinite(grad_norm)) {
    std::string culprit = "?";
    for (const auto& [name, tensor] : trained_[phase]) {
      if (tensor->grad().defined() && !std::isfinite(nn::gradient_norm({*tensor}))) {
        culprit = name;
        break;
      }
    }
    stop_diverged(log, step_ + 1, epoch, "the gradient of '" + culprit + "' is not finite (every loss term was)");
  }
  optimizer.set_lr(config_.schedule.lr_at(base_lr_[phase], step_));
  optimizer.step();
  return grad_norm;
}

// One optimiser step on the next batch of `order` (the epoch's shuffle).
Trainer::StepResult Trainer::run_step(const std::vector<int64_t>& order, int64_t epoch, std::ostream& log) {
  const auto start = Clock::now();
  const double communication_before = group_.communication_seconds();
  // This process's shard of the batch: rows [rank * B / K, (rank + 1) * B / K) of it.
  const int64_t shard_rows = config_.batch_size / group_.size();
  const nn::RowShard shard =
      group_.size() > 1 ? nn::RowShard{group_.rank() * shard_rows, config_.batch_size} : nn::RowShard{};
  const int64_t first = step_ % steps_per_epoch() * config_.batch_size + shard.first;
  const std::vector<int64_t> rows(order.begin() + first, order.begin() + first + shard_rows);
  const Tensor batch = data::gather_rows(train_set_, rows, config_.device);
  StepResult result;
  Generator noise(config_.seed ^ kNoiseSeedKey, static_cast<uint64_t>(step_) << 32);
  for (size_t phase = 0; phase < optimizers_.size(); ++phase) {
    const std::vector<NamedLoss> terms = phase_losses(phase, batch, noise, shard, true, &result.topology_ms);
    for (auto& value : checked_values(terms, log, epoch)) result.values.push_back(std::move(value));
    result.grad_norms.push_back(backward_and_update(phase, terms, log, epoch));
  }
  synchronize(config_.device);
  result.step_ms = elapsed_ms(start);
  result.communication_ms = (group_.communication_seconds() - communication_before) * 1e3;
  return result;
}

// One line of log.jsonl for the step just taken.
void Trainer::write_log_record(std::ostream& log, int64_t epoch, const StepResult& result) const {
  json record = {{"step", step_}, {"epoch", epoch + 1}};
  double total = 0.0;
  for (const auto& [name, value] : result.values) {
    record[name] = value;
    total += value;
  }
  record["total"] = total;
  // The last phase's (the model's, a GAN's generator's) learning rate and gradient norm; the earlier phases' by name.
  record["lr"] = optimizers_.back()->lr();
  record["grad_norm"] = result.grad_norms.back();
  const std::vector<std::string> phases = family_->phases();
  for (size_t phase = 0; phase + 1 < phases.size(); ++phase)
    record["grad_norm_" + phases[phase]] = result.grad_norms[phase];
  record["model_ms"] = result.step_ms - result.topology_ms;
  record["topology_ms"] = result.topology_ms;
  record["threads"] = result.threads;
  if (group_.size() > 1) record["communication_ms"] = result.communication_ms;
  log << record.dump() << "\n";
  TL_CHECK(log.good(), "writing the log '", log_path(config_), "' failed at step ", step_, " (", std::strerror(errno),
           "); training stopped. ", last_checkpoint_text());
}

// Flushes the log; stops the run, naming the last checkpoint, when the flush failed (a full disk, a lost directory).
void Trainer::flush_log(std::ostream& log) const {
  log.flush();
  TL_CHECK(log.good(), "writing the log '", log_path(config_), "' failed after step ", step_, " (",
           std::strerror(errno), "); training stopped. ", last_checkpoint_text());
}

std::string Trainer::last_checkpoint_text() const {
  if (last_checkpoint_path_.empty()) return "No checkpoint was written yet.";
  return "The last good checkpoint (step " + std::to_string(last_checkpoint_step_) + ") is " + last_checkpoint_path_;
}

void Trainer::stop_diverged(std::ostream& log, int64_t step, int64_t epoch, const std::string& what) const {
  std::ostringstream message;
  message << "step " << step << " (epoch " << epoch + 1 << "): " << what << "; training stopped. "
          << last_checkpoint_text();
  log << json{{"step", step}, {"error", message.str()}}.dump() << "\n";
  log.flush();
  throw TrainingDiverged(message.str());
}

// A resumed run that writes into its checkpoint's directory continues the run there.
bool Trainer::continues_in_place() const {
  std::error_code error;
  return !resumed_from_.empty() && std::filesystem::equivalent(directory_of(resumed_from_), config_.output, error);
}

// Starts log.jsonl: empty for a fresh run; for a resumed one, the lines up to the checkpoint's step of the log
// beside that checkpoint (later lines are about to be redone). Replaced atomically: a failure keeps the old log.
void Trainer::start_log() const {
  std::string kept;
  if (!resumed_from_.empty()) {
    std::ifstream in(directory_of(resumed_from_) + "/log.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json record = json::parse(line, nullptr, false);
      const bool step_record = record.is_object() && record.contains("step") && record.at("step").is_number_integer();
      if (step_record && !record.contains("error") && record.at("step").get<int64_t>() <= step_) kept += line + "\n";
      const bool validation_record = record.is_object() && record.contains("validation_loss") &&
                                     record.contains("epoch") && record.at("epoch").is_number_integer();
      if (validation_record && record.at("epoch").get<int64_t>() * steps_per_epoch() <= step_) kept += line + "\n";
    }
  }
  write_file_atomically(log_path(config_), kept);
}

// The log, appended to; the first call of a trainer claims the output directory and starts the log.
std::unique_ptr<std::ostream> Trainer::open_log() {
  if (!writes_files()) return std::make_unique<DiscardingStream>();
  if (!lock_) {
    std::unique_ptr<RunLock> lock =
        claim_output_directory(config_.output, earlier_, continues_in_place(), checkpoint_path());
    start_log();
    copy_best_checkpoint();
    lock_ = std::move(lock);
  }
  auto log = std::make_unique<std::ofstream>(log_path(config_), std::ios::app);
  TL_CHECK(log->good(), "cannot open the log '", log_path(config_), "': ", std::strerror(errno));
  return log;
}

void Trainer::train_until(int64_t until) {
  check_steps_left(until);
  const int64_t per_epoch = steps_per_epoch();
  const std::unique_ptr<std::ostream> log_stream = open_log();
  std::ostream& log = *log_stream;
  ProgressBar progress(config_.progress && writes_files(), until);
  const auto run_start = Clock::now();
  EpochMeans means;
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  family_->module().train();
  const CoresShared cores(group_.local_size());
  threads_per_process_ = omp_get_max_threads();
  // One process whose team is left to us (no OMP_NUM_THREADS, nobody lowered it): the team size follows the
  // machine's load, measured across this trainer's train_until calls.
  const bool tunes = group_.size() == 1 && std::getenv("OMP_NUM_THREADS") == nullptr && threads_per_process_ > 1 &&
                     threads_per_process_ == omp_get_num_procs();
  if (tunes && !thread_tuner_) thread_tuner_.emplace(threads_per_process_);
  ThreadTuner* const tuner = tunes ? &*thread_tuner_ : nullptr;
  while (step_ < until) {
    const int64_t epoch = step_ / per_epoch;
    if (epoch != order_epoch) {
      order = data::epoch_permutation(train_set_.size(), config_.seed, epoch);
      order_epoch = epoch;
      if (step_ % per_epoch == 0) means.restart();
    }
    if (tuner) omp_set_num_threads(tuner->threads());
    StepResult result = run_step(order, epoch, log);
    result.threads = omp_get_max_threads();
    if (result.threads == 1 && threads_per_process_ > 1) ++single_thread_steps_;
    if (tuner) {
      tuner->record(result.step_ms);
      omp_set_num_threads(tuner->chosen());  // validation and checkpoints between steps
    }
    ++step_;
    step_ms_.push_back(result.step_ms);
    topology_ms_.push_back(result.topology_ms);
    write_log_record(log, epoch, result);
    epoch_means_ = means.add(result.values);
    progress.update(step_, epoch, config_.epochs, per_epoch, epoch_means_, step_ms_);

    const bool periodic = config_.checkpoint_every > 0 && step_ % config_.checkpoint_every == 0;
    const bool epoch_end = step_ % per_epoch == 0;
    if (epoch_end && validating()) validate_epoch(log, epoch);
    if (epoch_end || periodic || step_ == until) save_checkpoint(log, epoch);
    if (epoch_end && patience_ran_out()) {
      stopped_early_ = true;
      if (config_.progress && writes_files())
        std::fprintf(stderr,
                     "\nstopping early after epoch %lld: the validation loss has not improved on epoch %lld's "
                     "for %lld epochs\n",
                     static_cast<long long>(epoch + 1), static_cast<long long>(best_epoch_),
                     static_cast<long long>(epochs_since_best_));
      break;
    }
  }
  flush_log(log);
  wall_seconds_ += std::chrono::duration<double>(Clock::now() - run_start).count();
}

json Trainer::evaluate() {
  if (best_epoch_ == 0) return evaluate_model(*family_, test_set_, config_);
  const std::unique_ptr<ModelFamily> best = best_model();
  return evaluate_model(*best, test_set_, config_);
}

RunSummary Trainer::run_summary() const {
  RunSummary run;
  run.model_parameters = family_->module().parameter_count();
  run.data_name = train_set_.name;
  run.train_samples = train_set_.size();
  run.validation_samples = validation_set_.size();
  run.validation = validating();
  run.best_epoch = best_epoch_;
  run.best_validation_loss = best_validation_loss_;
  run.epochs_since_best = epochs_since_best_;
  run.stopped_early = stopped_early_ || patience_ran_out();
  run.test_samples = test_set_.size();
  run.steps = step_;
  run.steps_per_epoch = steps_per_epoch();
  run.step_ms = step_ms_;
  run.topology_ms = topology_ms_;
  run.wall_seconds = wall_seconds_;
  run.processes = group_.size();
  run.threads_per_process = threads_per_process_;
  run.single_thread_steps = single_thread_steps_;
  run.evaluation_threads = omp_get_max_threads();
  run.last_epoch_means = epoch_means_;
  return run;
}

void Trainer::write_report(const json& evaluation) const {
  train::write_report(config_, run_summary(), evaluation);
}

}  // namespace tl::train
