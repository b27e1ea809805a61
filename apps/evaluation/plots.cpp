// The evaluation pictures: scatter plots in a principal plane (Eigen's symmetric eigensolver on the covariance),
// grids of grey 28 x 28 tiles, and strips of decoded paths.
#include "apps/evaluation/plots.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "apps/evaluation/samplers.h"
#include "apps/plot/image.h"
#include "apps/trainer/checkpoint.h"
#include "core/ops.h"
#include "topology/persistence.h"

namespace tl::eval {
namespace {

constexpr int kSide = 28;  // image data: 28 x 28 pixels per sample
constexpr int kZoom = 2;   // screen pixels per image pixel
constexpr int kTile = kSide * kZoom + 4;
constexpr int kScatterSize = 640;
constexpr uint64_t kPlotStream = 7;
constexpr int64_t kPairs = 6;

bool is_image_data(const EvaluationContext& context) {
  return context.data().inputs.dim(1) == kSide * kSide && context.unit_range();
}

// The rows of `points` projected on the two principal axes of `reference` (the first coordinates when 2-D).
std::vector<std::pair<double, double>> principal_plane(const Tensor& reference, const Tensor& points) {
  const int64_t d = reference.dim(1);
  const std::vector<float> ref = reference.to_vector<float>(), pts = points.to_vector<float>();
  const int64_t n = reference.dim(0);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean(j) += ref[i * d + j];
  mean /= static_cast<double>(n);
  Eigen::MatrixXd axes = Eigen::MatrixXd::Identity(d, std::min<int64_t>(d, 2));
  if (d > 2) {
    Eigen::MatrixXd covariance = Eigen::MatrixXd::Zero(d, d);
    Eigen::VectorXd row(d);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d; ++j) row(j) = ref[i * d + j] - mean(j);
      covariance.selfadjointView<Eigen::Lower>().rankUpdate(row);
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance.selfadjointView<Eigen::Lower>());
    axes = solver.eigenvectors().rightCols(2).rowwise().reverse();  // largest eigenvalue first
  }
  std::vector<std::pair<double, double>> projected;
  for (int64_t i = 0; i < points.dim(0); ++i) {
    double x = 0, y = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double centred = pts[i * d + j] - mean(j);
      x += centred * axes(j, 0);
      if (axes.cols() > 1) y += centred * axes(j, 1);
    }
    projected.emplace_back(x, y);
  }
  return projected;
}

// Dots at `points` (layers drawn in order), the view fitted to all of them.
plot::Image scatter(const std::vector<std::vector<std::pair<double, double>>>& layers,
                    const std::vector<std::vector<uint32_t>>& colours) {
  double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
  for (const auto& layer : layers)
    for (const auto& [x, y] : layer)
      lo_x = std::min(lo_x, x), hi_x = std::max(hi_x, x), lo_y = std::min(lo_y, y), hi_y = std::max(hi_y, y);
  const double span = std::max({hi_x - lo_x, hi_y - lo_y, 1e-12});
  const double scale = (kScatterSize - 40) / span;
  plot::Image image(kScatterSize, kScatterSize);
  for (size_t l = 0; l < layers.size(); ++l)
    for (size_t i = 0; i < layers[l].size(); ++i)
      image.dot(20 + static_cast<int>((layers[l][i].first - lo_x) * scale),
                kScatterSize - 20 - static_cast<int>((layers[l][i].second - lo_y) * scale), 2, colours[l][i]);
  return image;
}

// Rows of 28 x 28 tiles: row r holds the images of rows[r].
plot::Image tile_rows(const std::vector<Tensor>& rows) {
  int64_t columns = 0;
  for (const Tensor& row : rows) columns = std::max(columns, row.dim(0));
  plot::Image image(static_cast<int>(columns) * kTile, static_cast<int>(rows.size()) * kTile);
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::vector<float> pixels = rows[r].to_vector<float>();
    for (int64_t c = 0; c < rows[r].dim(0); ++c)
      image.grey_tile(static_cast<int>(c) * kTile + 2, static_cast<int>(r) * kTile + 2,
                      pixels.data() + c * kSide * kSide, kSide, kZoom);
  }
  return image;
}

std::string latent_plot(const EvaluationContext& context, const std::string& directory) {
  const std::vector<int64_t> rows = head(context.permutation(kPlotStream), 5000);
  const Tensor codes = context.encode(take_rows(context.data().inputs, rows));
  std::vector<uint32_t> colours;
  for (int64_t r : rows) colours.push_back(plot::class_colour(context.data().labels[r]));
  plot::write_png(directory + "/latents.png", scatter({principal_plane(codes, codes)}, {colours}));
  return "latents.png";
}

std::string sample_plot(const EvaluationContext& context, Sampler sampler, const std::string& directory) {
  const std::string name = std::string("samples_") + sampler_name(sampler) + ".png";
  if (is_image_data(context)) {
    const Tensor samples = generated_samples(context, sampler, 100);
    std::vector<Tensor> rows;
    for (int64_t r = 0; r < 10; ++r) rows.push_back(slice(samples, 0, 10 * r, 10 * r + 10));
    plot::write_png(directory + "/" + name, tile_rows(rows));
    return name;
  }
  const Tensor real = take_rows(context.data().inputs, head(context.permutation(kPlotStream), 1000));
  const Tensor generated = generated_samples(context, sampler, 1000);
  plot::write_png(directory + "/" + name, scatter({principal_plane(real, real), principal_plane(real, generated)},
                                                  {std::vector<uint32_t>(real.dim(0), 0xb0b0b0),
                                                   std::vector<uint32_t>(generated.dim(0), 0xd02020)}));
  return name;
}

std::string interpolation_plot(const EvaluationContext& context, const std::string& directory) {
  const EvaluationOptions& options = context.options();
  const std::vector<int64_t> order = context.permutation(kPlotStream);
  const int64_t pairs = std::min<int64_t>(kPairs, static_cast<int64_t>(order.size()) / 2);
  const Tensor ends = context.encode(take_rows(context.data().inputs, head(order, 2 * pairs)));
  const Tensor training = context.training_codes(options.geodesic_graph_points);
  const KnnGraph& graph = context.geodesic_graph();
  std::vector<Tensor> rows;
  for (int64_t p = 0; p < pairs; ++p) {
    const Tensor a = slice(ends, 0, 2 * p, 2 * p + 1), b = slice(ends, 0, 2 * p + 1, 2 * p + 2);
    rows.push_back(context.decode(linear_path(a, b, options.path_points)));
    try {
      rows.push_back(context.decode(geodesic_path(graph, training, a, b, options.path_points).points));
    } catch (const UnconnectedEnds&) {
      rows.push_back(context.decode(a));  // the graph does not join these ends: the start alone
    }
  }
  plot::write_png(directory + "/interpolation.png", tile_rows(rows));
  return "interpolation.png";
}

nlohmann::json finite_pairs(const Tensor& cloud) {
  const topology::PersistenceResult result = topology::persistence(cloud);
  nlohmann::json degrees;
  for (const topology::Diagram& diagram : result.diagrams) {
    nlohmann::json pairs = nlohmann::json::array();
    for (const topology::PersistencePair& pair : diagram.pairs) pairs.push_back({pair.birth, pair.death});
    degrees["h" + std::to_string(diagram.dim)] = pairs;
  }
  return degrees;
}

}  // namespace

void write_diagrams_json(const EvaluationContext& context, const std::string& directory) {
  const Tensor x =
      take_rows(context.data().inputs, head(context.permutation(kPlotStream), context.options().topology_batch));
  nlohmann::json diagrams = {{"points", x.dim(0)}, {"data", finite_pairs(x)}};
  if (context.has_encoder()) diagrams["latent"] = finite_pairs(context.encode(x));
  if (!context.has_encoder())  // a GAN's or diffusion model's: its generated samples in the codes' place
    diagrams[std::string("generated_") + sampler_name(context.samplers().front())] =
        finite_pairs(generated_samples(context, context.samplers().front(), x.dim(0)));
  train::write_file_atomically(directory + "/diagrams.json", diagrams.dump() + "\n");
}

std::vector<std::string> write_plots(const EvaluationContext& context, const std::string& directory) {
  context.note("plots", "latents, samples and paths as PNG");
  std::vector<std::string> written;
  if (context.has_encoder()) written.push_back(latent_plot(context, directory));
  for (Sampler sampler : context.samplers()) written.push_back(sample_plot(context, sampler, directory));
  if (context.has_encoder() && is_image_data(context)) written.push_back(interpolation_plot(context, directory));
  return written;
}

}  // namespace tl::eval
