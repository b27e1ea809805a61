// Data sets: the MNIST test split read from ../shared (counts and labels against the IDX header and the known
// class balance), errors for missing, truncated and mismatched files, a CIFAR-10 fixture written here, the
// geometry of the synthetic sets, and the epoch shuffle.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "nn/data/dataset.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

std::filesystem::path scratch_directory(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("topolatent_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_gz(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(file);
}

// An IDX byte array: magic 0 0 8 rank, big-endian dims, then `payload` values.
std::vector<unsigned char> idx_bytes(const std::vector<uint32_t>& dims, size_t payload) {
  std::vector<unsigned char> bytes{0, 0, 8, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<unsigned char>(d >> shift));
  for (size_t i = 0; i < payload; ++i) bytes.push_back(static_cast<unsigned char>(i % 7));
  return bytes;
}

}  // namespace

TEST_CASE("the MNIST test split loads with its 10000 images and balanced labels") {
  const std::optional<data::Dataset> loaded = shared_mnist_test_split();
  if (!loaded) return;
  const data::Dataset& mnist = *loaded;
  CHECK(mnist.inputs.shape() == Shape{10000, 784});
  REQUIRE(mnist.labels.size() == 10000);
  std::vector<int> counts(10, 0);
  for (int32_t label : mnist.labels) ++counts.at(label);
  CHECK(counts[0] == 980);  // MNIST's published test-set class counts
  CHECK(counts[1] == 1135);
  const std::vector<float> pixels = mnist.inputs.to_vector<float>();
  CHECK(*std::max_element(pixels.begin(), pixels.end()) == 1.0f);
  CHECK(*std::min_element(pixels.begin(), pixels.end()) == 0.0f);
  const std::string directory = TL_MNIST_DIR;
  CHECK(data::load_idx_dataset(directory, data::Split::Test, 100).size() == 100);
  CHECK(error_message([&] { data::load_idx_dataset(directory, data::Split::Train); }).find("train-images-idx3-ubyte") !=
        std::string::npos);
}

TEST_CASE("corrupt, truncated and mismatched IDX files raise errors naming the file") {
  const std::filesystem::path dir = scratch_directory("idx");
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_bytes({3, 2, 2}, 12));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_bytes({4}, 4));
  std::string message = error_message([&] { data::load_idx_dataset(dir.string(), data::Split::Test); });
  CHECK(message.find("4 labels for the 3 images") != std::string::npos);

  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_bytes({3}, 3));
  CHECK(data::load_idx_dataset(dir.string(), data::Split::Test).size() == 3);

  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_bytes({3, 2, 2}, 10));  // two bytes short
  message = error_message([&] { data::load_idx_dataset(dir.string(), data::Split::Test); });
  CHECK(message.find("t10k-images-idx3-ubyte.gz") != std::string::npos);
  CHECK(message.find("ends early") != std::string::npos);

  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_bytes({3, 2, 2}, 12));
  std::vector<unsigned char> not_idx = idx_bytes({3}, 3);
  not_idx[2] = 0x0D;  // float elements
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", not_idx);
  CHECK(error_message([&] { data::load_idx_dataset(dir.string(), data::Split::Test); }).find("not unsigned byte") !=
        std::string::npos);
}

TEST_CASE("CIFAR-10 batches read labels and channel-major pixels, and reject partial records") {
  const std::filesystem::path dir = scratch_directory("cifar");
  std::vector<char> record(3073);
  {
    std::ofstream out(dir / "data_batch_1.bin", std::ios::binary);
    for (int r = 0; r < 3; ++r) {
      record[0] = static_cast<char>(r * 4);  // labels 0, 4, 8
      for (int p = 1; p < 3073; ++p) record[p] = static_cast<char>((p + r) % 256);
      out.write(record.data(), 3073);
    }
  }
  const data::Dataset cifar = data::load_cifar10_batches({(dir / "data_batch_1.bin").string()});
  CHECK(cifar.inputs.shape() == Shape{3, 3072});
  CHECK(cifar.labels == std::vector<int32_t>{0, 4, 8});
  const std::vector<float> pixels = cifar.inputs.to_vector<float>();
  CHECK(pixels[3072 + 0] == doctest::Approx(2 / 255.0));  // record 1, first red pixel: (1 + 1) % 256
  CHECK(pixels[2 * 3072 + 1024] == doctest::Approx(((1025 + 2) % 256) / 255.0));  // record 2, first green pixel
  {
    std::ofstream out(dir / "data_batch_2.bin", std::ios::binary);
    out.write(record.data(), 3000);
  }
  CHECK(error_message([&] {
          data::load_cifar10_batches({(dir / "data_batch_2.bin").string()});
        }).find("not a whole number of 3073-byte") != std::string::npos);
}

TEST_CASE("synthetic sets have their stated geometry and labels") {
  const data::Dataset spheres = data::synthetic_dataset("spheres", 2000, 7);
  CHECK(spheres.inputs.shape() == Shape{2000, 101});
  const std::vector<float> points = spheres.inputs.to_vector<float>();
  int large = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    if (spheres.labels[i] != 10) continue;
    ++large;
    double norm = 0;
    for (int k = 0; k < 101; ++k) norm += double(points[i * 101 + k]) * points[i * 101 + k];
    CHECK(std::sqrt(norm) == doctest::Approx(25.0).epsilon(1e-5));
  }
  CHECK(large == 1000);  // 10 small spheres of 100 and one large of 1000: the 1:...:1:10 split
  // A small sphere: every point at distance 5 from the mean of its points' antipodal pairs is hard to test
  // without the centre, so check the pairwise distances stay within its diameter 10.
  for (int64_t i = 1; i < 100; ++i) {
    double d = 0;
    for (int k = 0; k < 101; ++k) d += std::pow(double(points[i * 101 + k]) - points[k], 2);
    CHECK(std::sqrt(d) <= 10.0 + 1e-4);
  }

  const data::Dataset roll = data::synthetic_dataset("swiss_roll", 500, 3);
  const std::vector<float> r = roll.inputs.to_vector<float>();
  for (int64_t i = 0; i < 500; ++i) {
    const double radius = std::hypot(r[3 * i], r[3 * i + 2]);  // = t, the roll parameter in [1.5 pi, 4.5 pi]
    CHECK(radius >= 1.5 * M_PI - 1e-4);
    CHECK(radius <= 4.5 * M_PI + 1e-4);
    CHECK(roll.labels[i] == std::min(5, static_cast<int>((radius / (1.5 * M_PI) - 1.0) / 2.0 * 6.0)));
  }
  CHECK(data::synthetic_dataset("clusters", 50, 1).labels[7] == 2);
  CHECK_THROWS_AS(data::synthetic_dataset("klein_bottle", 10, 1), ValueError);
}

TEST_CASE("the epoch shuffle is a permutation fixed by seed and epoch") {
  const std::vector<int64_t> a = data::epoch_permutation(1000, 5, 0);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(a == data::epoch_permutation(1000, 5, 0));
  CHECK(a != data::epoch_permutation(1000, 5, 1));
  CHECK(a != data::epoch_permutation(1000, 6, 0));
  // Each index lands in the first half about half the time over epochs (a uniform shuffle).
  int first_half = 0;
  for (int epoch = 0; epoch < 400; ++epoch) {
    const std::vector<int64_t> order = data::epoch_permutation(10, 9, epoch);
    first_half += std::find(order.begin(), order.end(), 3) - order.begin() < 5;
  }
  CHECK(first_half > 160);
  CHECK(first_half < 240);
}

}  // namespace tl::testing
