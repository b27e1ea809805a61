// The trainer's configuration: a JSON file (parsed with nlohmann/json) validated into TrainConfig, with
// command-line overrides "key.path=value" applied before validation. Every unknown key and every bad value is
// rejected with an error naming the full key ("optimizer.lr", "topology.0.dims").
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/ops.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "topology/regularizers.h"

namespace tl::train {

struct DataConfig {
  std::string source = "idx";  // "idx" (a directory of IDX files) or "synthetic"
  std::string path;            // idx: the directory
  std::string name;            // synthetic: the set's name (nn/data/dataset.h)
  int64_t count = 10000;       // synthetic: training points (the test set draws count / 10 more)
  float noise = 0.0f;          // synthetic
  int64_t limit = 0;           // idx: keep the first `limit` training samples (0: all)
  int64_t test_limit = 0;      // idx: likewise for the test split
};

enum class TermKind { Talsr, HomologicalAe, Signature, Landscape, TopoVae, TopoVaeZ1, TopoGen };

// One topological loss term, weighted and optionally ramped in: weight * min(1, step / ramp_steps) (TGLML's
// gamma(t) for any term). Only the options of `kind` are read from the file.
struct TopologyTermConfig {
  TermKind kind = TermKind::Talsr;
  std::string name;  // the term's name in logs ("talsr", or "talsr_2" for a second one)
  float weight = 1.0f;
  int64_t ramp_steps = 0;
  topology::TalsrOptions talsr;
  topology::HomologicalAeOptions homological;
  topology::SignatureOptions signature;
  bool learnable_latent_scale = false;  // signature: D_Z divided by a trained scalar
  topology::LandscapeLossOptions landscape;
  topology::TopoVae topovae = topology::TopoVae::T1;
  float w0 = 0.0f, w1 = 0.0f;  // TopoVae and TopoVaeZ1 term weights (0: the thesis defaults)
  bool divide_by_batch = true;
  float z1_scale = 1.0f;  // TopoVaeZ1: the input diagrams' rescaling factor
  topology::TopoGenOptions topogen;
  bool on_reconstruction = true;  // TopoGen: the term's cloud is the reconstruction batch (else the latent)
  int64_t target_points = 1024;   // TALSR target: diagrams of this many training points, computed once
};

struct EvaluationConfig {
  int64_t topology_points = 512;  // test samples whose input and latent diagrams are compared
  int64_t knn_points = 2000;      // test samples for the k-NN label accuracy
  int knn = 5;
};

struct TrainConfig {
  nlohmann::json source;  // the validated file with overrides applied (stored in checkpoints and reports)
  std::string model_name;
  nn::AutoencoderSpec model;
  DataConfig data;
  std::string reconstruction = "bce";  // "bce" (the decoder outputs logits) or "mse"
  Reduction reduction = Reduction::BatchMean;
  float beta = 1.0f;  // the KL weight of a VAE
  std::vector<TopologyTermConfig> topology;
  nn::OptimizerOptions optimizer;
  nn::LearningRateSchedule schedule;
  double clip_grad_norm = 0.0;  // 0: off
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: stop after this many steps in all
  int64_t batch_size = 128;
  uint64_t seed = 0;
  Device device = Device::CPU;
  std::string output = "runs/default";
  int64_t checkpoint_every = 0;  // steps; 0: at the end of each epoch only
  bool progress = true;
  EvaluationConfig evaluation;
};

// Validates a parsed JSON document. Throws ValueError naming the key on an unknown key, a wrong type or a bad value.
TrainConfig parse_config(const nlohmann::json& document);

// Reads a JSON file (a syntax error names the file, line and column).
nlohmann::json read_config_file(const std::string& path);

// Applies "a.b.c=value" to the document: value is read as JSON when it parses (numbers, true, [0, 1], "text"),
// as a plain string otherwise; array elements are addressed by index ("topology.0.weight").
void apply_override(nlohmann::json& document, const std::string& assignment);

}  // namespace tl::train
