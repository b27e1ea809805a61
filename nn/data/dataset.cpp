// Data set loaders (IDX directories, CIFAR-10 binaries), labelled synthetic sets, and the epoch shuffle.
#include "nn/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/base/philox.h"
#include "core/base/random.h"
#include "nn/data/idx.h"
#include "nn/data/synthetic.h"

namespace tl::data {
namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr uint64_t kTestSeedOffset = 1000003;  // a synthetic held-out sample draws its points from seed + this
constexpr uint64_t kTestSplitKey = 0x7E57'5B11'7000'0001ull;  // mixed into the split seed of test_split_rows

std::string find_idx_file(const std::string& directory, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const std::filesystem::path candidate = std::filesystem::path(directory) / (stem + suffix);
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  TL_FAIL(ValueError, "no '", stem, "' or '", stem, ".gz' in '", directory,
          "' (an IDX data set directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte, "
          "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, optionally gzipped)");
}

// The sector (0..sectors-1) of the angle atan2(y, x).
int32_t sector(float y, float x, int sectors) {
  const float unit = (std::atan2(y, x) + kPi) / (2.0f * kPi);
  return std::min(sectors - 1, static_cast<int32_t>(unit * static_cast<float>(sectors)));
}

Dataset labelled_by_rows(const std::string& name, Tensor points, int32_t (*label_of)(const float* row)) {
  Dataset data{name, std::move(points), {}};
  const std::vector<float> values = data.inputs.to_vector<float>();
  const int64_t dim = data.inputs.dim(1);
  for (int64_t i = 0; i < data.size(); ++i) data.labels.push_back(label_of(values.data() + i * dim));
  return data;
}

// `count` points on the sphere of `radius` in R^dim around `centre`, appended row-major to `out`.
void append_sphere(std::vector<float>& out, int64_t count, int64_t dim, float radius, const std::vector<float>& centre,
                   Generator& generator) {
  const std::vector<float> directions = Tensor::normal({count, dim}, generator).to_vector<float>();
  for (int64_t i = 0; i < count; ++i) {
    double norm = 0.0;
    for (int64_t k = 0; k < dim; ++k) norm += double(directions[i * dim + k]) * directions[i * dim + k];
    const float scale = radius / static_cast<float>(std::sqrt(norm));
    for (int64_t k = 0; k < dim; ++k) out.push_back(centre[k] + scale * directions[i * dim + k]);
  }
}

// `point_seed`, when given, draws the points on the spheres whose centres `seed` fixed (a held-out sample).
Dataset spheres_dataset(int64_t count, uint64_t seed, const uint64_t* point_seed = nullptr) {
  constexpr int64_t kDim = 101, kSmall = 10;
  TL_CHECK_AS(ValueError, count >= 2 * kSmall, "the spheres set needs count >= 20, got ", count);
  Generator generator(seed);
  const int64_t per_small = count / (2 * kSmall);
  const int64_t large = count - kSmall * per_small;
  const std::vector<float> shifts = Tensor::normal({kSmall, kDim}, generator).to_vector<float>();
  if (point_seed != nullptr) generator = Generator(*point_seed);
  Dataset data{"spheres", Tensor(), {}};
  std::vector<float> values;
  for (int64_t s = 0; s < kSmall; ++s) {
    append_sphere(values, per_small, kDim, 5.0f,
                  std::vector<float>(shifts.begin() + s * kDim, shifts.begin() + (s + 1) * kDim), generator);
    data.labels.insert(data.labels.end(), static_cast<size_t>(per_small), static_cast<int32_t>(s));
  }
  append_sphere(values, large, kDim, 25.0f, std::vector<float>(kDim, 0.0f), generator);
  data.labels.insert(data.labels.end(), static_cast<size_t>(large), static_cast<int32_t>(kSmall));
  data.inputs = Tensor::from_vector(values, {count, kDim});
  return data;
}

// Five Gaussian blobs; the centres come first from Philox under `seed`, then the points, from the same stream or,
// for a held-out sample of the same blobs, from `point_seed`.
Dataset clusters_dataset(int64_t count, uint64_t seed, float noise, const uint64_t* point_seed = nullptr) {
  constexpr int64_t kDim = 10, kClusters = 5;
  Generator generator(seed);
  const std::vector<float> centres = Tensor::normal({kClusters, kDim}, generator, 0.0f, 4.0f).to_vector<float>();
  const float spread = noise > 0.0f ? noise : 0.5f;
  Generator held_out(point_seed != nullptr ? *point_seed : 0);
  std::vector<float> values =
      Tensor::normal({count, kDim}, point_seed != nullptr ? held_out : generator, 0.0f, spread).to_vector<float>();
  Dataset data{"clusters", Tensor(), {}};
  for (int64_t i = 0; i < count; ++i) {
    const int64_t c = i % kClusters;
    for (int64_t k = 0; k < kDim; ++k) values[i * kDim + k] += centres[c * kDim + k];
    data.labels.push_back(static_cast<int32_t>(c));
  }
  data.inputs = Tensor::from_vector(values, {count, kDim});
  return data;
}

Dataset swiss_roll_dataset(int64_t count, uint64_t seed, float noise) {
  Generator generator(seed);
  const std::vector<float> u = Tensor::uniform({count, 2}, generator).to_vector<float>();
  std::vector<float> values(static_cast<size_t>(3 * count));
  Dataset data{"swiss_roll", Tensor(), {}};
  for (int64_t i = 0; i < count; ++i) {
    const float t = 1.5f * kPi * (1.0f + 2.0f * u[2 * i]);  // the roll parameter, as scikit-learn draws it
    values[3 * i] = t * std::cos(t);
    values[3 * i + 1] = 21.0f * u[2 * i + 1];
    values[3 * i + 2] = t * std::sin(t);
    data.labels.push_back(std::min<int32_t>(5, static_cast<int32_t>(u[2 * i] * 6.0f)));
  }
  if (noise > 0.0f) {
    const std::vector<float> offsets = Tensor::normal({count * 3}, generator, 0.0f, noise).to_vector<float>();
    for (size_t i = 0; i < values.size(); ++i) values[i] += offsets[i];
  }
  data.inputs = Tensor::from_vector(values, {count, 3});
  return data;
}

}  // namespace

Dataset load_idx_dataset(const std::string& directory, Split split, int64_t limit) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string image_path = find_idx_file(directory, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_idx_file(directory, prefix + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(image_path);
  const IdxArray labels = read_idx(label_path);
  TL_CHECK_AS(ValueError, images.dims.size() == 3, "'", image_path, "' holds a rank-", images.dims.size(),
              " array, expected [count, rows, cols] images");
  TL_CHECK_AS(ValueError, labels.dims.size() == 1 && labels.dims[0] == images.dims[0], "'", label_path, "' holds ",
              labels.dims[0], " labels for the ", images.dims[0], " images of '", image_path, "'");
  Dataset data{std::filesystem::path(directory).filename().string(), idx_images_as_points(images, limit), {}};
  for (int64_t i = 0; i < data.size(); ++i) data.labels.push_back(labels.values[static_cast<size_t>(i)]);
  return data;
}

Dataset load_cifar10_batches(const std::vector<std::string>& paths, int64_t limit) {
  constexpr int64_t kPixels = 3 * 32 * 32, kRecord = kPixels + 1;
  TL_CHECK_AS(ValueError, !paths.empty(), "load_cifar10_batches: no files given");
  Dataset data{"cifar10", Tensor(), {}};
  std::vector<float> values;
  for (const std::string& path : paths) {
    std::ifstream file(path, std::ios::binary);
    TL_CHECK_AS(ValueError, file.good(), "cannot open CIFAR-10 batch '", path, "'");
    const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    TL_CHECK_AS(ValueError, !bytes.empty() && bytes.size() % kRecord == 0, "'", path, "' is ", bytes.size(),
                " bytes, not a whole number of 3073-byte CIFAR-10 records (truncated or not a CIFAR-10 batch)");
    for (size_t r = 0; r < bytes.size() / kRecord; ++r) {
      if (limit > 0 && static_cast<int64_t>(data.labels.size()) == limit) break;
      const unsigned char* record = bytes.data() + r * kRecord;
      TL_CHECK_AS(ValueError, record[0] < 10, "'", path, "': record ", r, " has label ", int(record[0]),
                  " (CIFAR-10 labels are 0..9)");
      data.labels.push_back(record[0]);
      for (int64_t p = 1; p <= kPixels; ++p) values.push_back(record[p] / 255.0f);
    }
  }
  data.inputs = Tensor::from_vector(values, {static_cast<int64_t>(data.labels.size()), kPixels});
  return data;
}

Dataset synthetic_dataset(const std::string& name, int64_t count, uint64_t seed, float noise) {
  TL_CHECK_AS(ValueError, count > 0, "synthetic data set '", name, "': count must be positive, got ", count);
  TL_CHECK_AS(ValueError, noise >= 0.0f, "synthetic data set '", name, "': noise must be >= 0, got ", noise);
  Generator generator(seed);
  if (name == "circle") {
    return labelled_by_rows(name, noisy_circle(count, 1.0f, noise, generator),
                            [](const float* p) { return sector(p[1], p[0], 6); });
  }
  if (name == "two_circles") {
    return labelled_by_rows(name, two_circles(count, noise, generator),
                            [](const float* p) { return static_cast<int32_t>(p[0] > 1.5f); });
  }
  if (name == "sphere") {
    return labelled_by_rows(name, sphere(count, noise, generator), [](const float* p) {
      return static_cast<int32_t>((p[0] > 0) + 2 * (p[1] > 0) + 4 * (p[2] > 0));
    });
  }
  if (name == "torus") {
    return labelled_by_rows(name, torus(count, 2.0f, 0.5f, noise, generator),
                            [](const float* p) { return sector(p[1], p[0], 6); });
  }
  if (name == "figure_eight") {
    return labelled_by_rows(name, figure_eight(count, noise, generator),
                            [](const float* p) { return static_cast<int32_t>(p[0] > 0); });
  }
  if (name == "clusters") return clusters_dataset(count, seed, noise);
  if (name == "swiss_roll") return swiss_roll_dataset(count, seed, noise);
  if (name == "spheres") return spheres_dataset(count, seed);
  TL_FAIL(ValueError, "unknown synthetic data set '", name,
          "' (expected circle, two_circles, sphere, torus, figure_eight, clusters, swiss_roll or spheres)");
}

Dataset synthetic_test_dataset(const std::string& name, int64_t count, uint64_t seed, float noise) {
  const uint64_t point_seed = seed + kTestSeedOffset;
  if (name == "clusters") {
    TL_CHECK_AS(ValueError, count > 0 && noise >= 0.0f, "synthetic data set 'clusters': count must be positive and ",
                "noise >= 0, got ", count, " and ", noise);
    return clusters_dataset(count, seed, noise, &point_seed);
  }
  if (name == "spheres") {
    TL_CHECK_AS(ValueError, count > 0, "synthetic data set 'spheres': count must be positive, got ", count);
    return spheres_dataset(count, seed, &point_seed);
  }
  return synthetic_dataset(name, count, point_seed, noise);
}

RowSplit split_rows(int64_t n, double fraction, uint64_t seed) {
  TL_CHECK_AS(ValueError, fraction > 0.0 && fraction < 1.0, "split_rows: the fraction must lie in (0, 1), got ",
              fraction);
  const std::vector<int64_t> order = epoch_permutation(n, seed, 0);
  const auto test = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n)));
  RowSplit split;
  split.test.assign(order.begin(), order.begin() + std::min(test, n));
  split.train.assign(order.begin() + std::min(test, n), order.end());
  return split;
}

RowSplit test_split_rows(int64_t n, double fraction, uint64_t split_seed) {
  return split_rows(n, fraction, split_seed ^ kTestSplitKey);
}

std::pair<Dataset, Dataset> split_test_rows(const Dataset& whole, double fraction, uint64_t split_seed) {
  const RowSplit rows = test_split_rows(whole.size(), fraction, split_seed);
  return {select_rows(whole, rows.train), select_rows(whole, rows.test)};
}

Dataset embed_isometrically(const Dataset& data, int64_t dim, float noise, uint64_t frame_seed, uint64_t noise_seed) {
  const int64_t n = data.size(), own = data.inputs.dim(1);
  TL_CHECK_AS(ValueError, dim >= own, "embedding '", data.name, "' in R^", dim, ": the set already has ", own,
              " features (the dimension must be at least that)");
  TL_CHECK_AS(ValueError, noise >= 0.0f, "embedding '", data.name, "': noise must be >= 0, got ", noise);
  // The frame: `own` Gaussian vectors in R^dim, orthonormalised by Gram-Schmidt run twice in double.
  Generator frame_generator(frame_seed);
  const std::vector<float> draws = Tensor::normal({own, dim}, frame_generator).to_vector<float>();
  std::vector<double> frame(draws.begin(), draws.end());
  const auto project_out = [&](double* v, int64_t columns) {
    for (int64_t c = 0; c < columns; ++c) {
      const double* q = frame.data() + c * dim;
      double dot = 0.0;
      for (int64_t k = 0; k < dim; ++k) dot += q[k] * v[k];
      for (int64_t k = 0; k < dim; ++k) v[k] -= dot * q[k];
    }
  };
  for (int64_t c = 0; c < own; ++c) {
    double* v = frame.data() + c * dim;
    for (int pass = 0; pass < 2; ++pass) project_out(v, c);
    double norm = 0.0;
    for (int64_t k = 0; k < dim; ++k) norm += v[k] * v[k];
    norm = std::sqrt(norm);
    for (int64_t k = 0; k < dim; ++k) v[k] /= norm;
  }
  std::vector<double> offsets(static_cast<size_t>(n * dim), 0.0);
  if (noise > 0.0f) {
    Generator noise_generator(noise_seed);
    const std::vector<float> g = Tensor::normal({n, dim}, noise_generator, 0.0f, noise).to_vector<float>();
    offsets.assign(g.begin(), g.end());
    for (int64_t i = 0; i < n; ++i) project_out(offsets.data() + i * dim, own);
  }
  const std::vector<float> points = data.inputs.to_vector<float>();
  std::vector<float> embedded(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < dim; ++k) {
      double value = offsets[i * dim + k];
      for (int64_t c = 0; c < own; ++c) value += double(points[i * own + c]) * frame[c * dim + k];
      embedded[i * dim + k] = static_cast<float>(value);
    }
  }
  return Dataset{data.name, Tensor::from_vector(embedded, {n, dim}), data.labels};
}

Dataset select_rows(const Dataset& data, const std::vector<int64_t>& rows) {
  Dataset selected{data.name, gather_rows(data, rows, Device::CPU), {}};
  selected.labels.reserve(rows.size());
  for (int64_t row : rows) selected.labels.push_back(data.labels[static_cast<size_t>(row)]);
  return selected;
}

Standardization fit_standardization(const Tensor& inputs) {
  TL_CHECK_AS(ValueError, inputs.rank() == 2 && inputs.dim(0) > 0, "fit_standardization: expected a non-empty ",
              "[rows, features] tensor, got ", inputs.describe());
  const int64_t n = inputs.dim(0), features = inputs.dim(1);
  const std::vector<float> values = inputs.to_vector<float>();
  Standardization fitted{std::vector<double>(features, 0.0), std::vector<double>(features, 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < features; ++k) fitted.mean[k] += values[i * features + k];
  for (double& m : fitted.mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < features; ++k) {
      const double d = values[i * features + k] - fitted.mean[k];
      fitted.scale[k] += d * d;
    }
  }
  for (double& s : fitted.scale) {
    s = std::sqrt(s / static_cast<double>(n));
    if (!(s > 0.0)) s = 1.0;  // a constant feature
  }
  return fitted;
}

void standardize(Dataset& data, const Standardization& standardization) {
  const int64_t features = data.inputs.dim(1);
  TL_CHECK_AS(ValueError, static_cast<int64_t>(standardization.mean.size()) == features, "standardize: '", data.name,
              "' has ", features, " features, the standardization ", standardization.mean.size());
  std::vector<float> values = data.inputs.to_vector<float>();
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t k = i % static_cast<size_t>(features);
    values[i] = static_cast<float>((values[i] - standardization.mean[k]) / standardization.scale[k]);
  }
  data.inputs = Tensor::from_vector(values, {data.size(), features});
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  // Draw j uniform in [0, i] from 32 random bits by multiply-shift (bias below 2^-32 * n).
  const uint64_t base = static_cast<uint64_t>(epoch) << 40;
  for (int64_t i = n - 1; i > 0; --i) {
    const uint32_t bits = philox::block_at(seed, base + static_cast<uint64_t>(i)).v[0];
    const int64_t j = static_cast<int64_t>((static_cast<uint64_t>(bits) * static_cast<uint64_t>(i + 1)) >> 32);
    std::swap(order[i], order[j]);
  }
  return order;
}

Tensor gather_rows(const Dataset& data, const std::vector<int64_t>& indices, Device device) {
  const int64_t features = data.inputs.dim(1);
  Tensor batch = Tensor::empty({static_cast<int64_t>(indices.size()), features});
  const float* source = data.inputs.data<float>();
  float* target = batch.data<float>();
  for (size_t r = 0; r < indices.size(); ++r) {
    TL_CHECK_AS(ValueError, indices[r] >= 0 && indices[r] < data.size(), "gather_rows: index ", indices[r],
                " is outside the ", data.size(), " rows of '", data.name, "'");
    std::copy_n(source + indices[r] * features, features, target + r * features);
  }
  return device == Device::CPU ? batch : batch.to(device);
}

}  // namespace tl::data
