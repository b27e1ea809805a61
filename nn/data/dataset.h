// Labelled data sets for training: MNIST-style IDX directories, the CIFAR-10 binary format, and synthetic
// sets of known topology with labels; plus the Philox-driven epoch shuffle that batches them reproducibly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::data {

struct Dataset {
  std::string name;
  Tensor inputs;                // float32 [count, features] on the CPU
  std::vector<int32_t> labels;  // one per row
  int64_t size() const { return inputs.defined() ? inputs.dim(0) : 0; }
};

enum class Split { Train, Test };

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from `directory` (MNIST, Fashion-MNIST, or any set
// in that layout); pixels scaled to [0, 1]. limit > 0 keeps the first `limit` samples. A missing file names
// the names looked for; an image/label count mismatch or a corrupt file raises ValueError naming the file.
Dataset load_idx_dataset(const std::string& directory, Split split, int64_t limit = 0);

// Reads CIFAR-10 binary batch files (each record: 1 label byte, 3072 pixel bytes, channel-major 32x32);
// pixels scaled to [0, 1]. A file whose size is not a whole number of records raises ValueError.
Dataset load_cifar10_batches(const std::vector<std::string>& paths, int64_t limit = 0);

// Synthetic sets with labels, drawn from Philox under `seed`:
//   "circle" (label: angle sextant), "two_circles" (unit circles at (0,0) and (3,0), label: which), "sphere" (S^2,
//   label: octant), "torus" (label: sextant of the major angle), "figure_eight" (label: which loop), "clusters" (5
//   Gaussian blobs in 10-D, label: blob), "swiss_roll" (3-D, label: sixth of the roll), "spheres" (Moor et al.: 10
//   spheres S^100 of radius 5 in R^101, centres ~ N(0, I), inside one of radius 25; labels 0..9 and 10; `count` is the
//   total, split 1:1:...:1:10 as in their 500 x 10 + 5000 set). ValueError for other names.
Dataset synthetic_dataset(const std::string& name, int64_t count, uint64_t seed, float noise = 0.0f);

// A second, independent sample of `count` points of the distribution synthetic_dataset(name, ., seed, noise) draws
// from: the same sphere centres of "spheres" and cluster centres of "clusters" (which `seed` fixes), new points
// (drawn under seed + 1000003). The trainer's held-out set of a synthetic source without data.test_fraction.
Dataset synthetic_test_dataset(const std::string& name, int64_t count, uint64_t seed, float noise = 0.0f);

// A seeded split of n rows: `test` holds the first ceil(fraction * n) entries of a Philox permutation of 0..n-1 under
// `seed` (scikit-learn's train_test_split sizes its test part so), `train` the rest, each in permutation order, so
// that the first rows of either part are a uniform sample of it. fraction must lie in (0, 1).
struct RowSplit {
  std::vector<int64_t> train, test;
};
RowSplit split_rows(int64_t n, double fraction, uint64_t seed);

// The held-out split of one set of rows that every tool draws alike (tl_train's data.test_fraction, tl_classify's
// --test-fraction): split_rows under `split_seed` mixed with a fixed key, so that a model and the classifier scoring
// it hold out the same rows when given the same fraction and seed.
RowSplit test_split_rows(int64_t n, double fraction, uint64_t split_seed);

// The rows of `whole` that test_split_rows keeps for training, then those it holds out, in that order.
std::pair<Dataset, Dataset> split_test_rows(const Dataset& whole, double fraction, uint64_t split_seed);

// `data` (points in R^d) carried into R^dim, dim >= d, by an orthonormal frame drawn under `frame_seed`, plus
// N(0, noise^2) along the dim - d directions the frame leaves out (drawn under `noise_seed`): a set whose generator
// added that noise in its own d coordinates ends up with isotropic noise in R^dim. Pairwise distances, and with them
// the persistence diagrams, are those of `data` up to the added noise. ValueError when dim < d.
Dataset embed_isometrically(const Dataset& data, int64_t dim, float noise, uint64_t frame_seed, uint64_t noise_seed);

// The rows `rows` of `data` (inputs and labels), in that order, under the same name.
Dataset select_rows(const Dataset& data, const std::vector<int64_t>& rows);

// Per-feature mean and standard deviation (population, ddof = 0, as numpy.std and scikit-learn's StandardScaler),
// accumulated in double; a constant feature gets the scale 1, so it maps to 0 rather than to NaN.
struct Standardization {
  std::vector<double> mean, scale;
};
Standardization fit_standardization(const Tensor& inputs);
// (x - mean) / scale for every row, in place (float32 inputs on the CPU with mean.size() features).
void standardize(Dataset& data, const Standardization& standardization);

// A permutation of 0..n-1 fixed by (seed, epoch): Fisher-Yates driven by Philox, so any epoch's order can be
// regenerated on resume without replaying earlier ones.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

// The rows `indices` of the data set as a [batch, features] tensor on `device`.
Tensor gather_rows(const Dataset& data, const std::vector<int64_t>& indices, Device device);

}  // namespace tl::data
