// Data sets and file readers: the MNIST test split read from ../shared (counts and labels against the IDX header and
// the known class balance), errors for missing, truncated, oversized, overflowing and mismatched IDX files, the CSV,
// .npy and lower-distance readers on well-formed and crafted files, the label readers, a CIFAR-10 fixture written here,
// the geometry of the synthetic sets and of their held-out samples and isometric embeddings, seeded row splits,
// standardisation, and the epoch shuffle.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "nn/data/dataset.h"
#include "nn/data/idx.h"
#include "nn/data/point_cloud_io.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

void write_gz(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(file);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// CHECKs that reading `path` after writing `bytes` there fails with a message that holds `expected` and names
// the file.
void check_refused(const std::string& path, const std::string& bytes, Tensor (*read)(const std::string&),
                   const std::string& expected) {
  write_file(path, bytes);
  const std::string message = error_message([&] { read(path); });
  CHECK_MESSAGE(message.find(expected) != std::string::npos, message);
  CHECK_MESSAGE(message.find(std::filesystem::path(path).filename().string()) != std::string::npos, message);
}

// A .npy file: version 1.0, `header` padded with spaces to a 64-byte boundary, then `data`.
std::string npy_bytes(const std::string& header, const std::string& data) {
  std::string text = header;
  text.append(63 - (10 + text.size()) % 64, ' ');
  text.push_back('\n');
  const std::string length{static_cast<char>(text.size() & 0xff), static_cast<char>(text.size() >> 8)};
  return std::string("\x93NUMPY\x01\x00", 8) + length + text + data;
}

std::string float_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
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

TEST_CASE("IDX files whose dimensions overflow, outgrow the file or fall short of it raise errors naming the file") {
  const std::filesystem::path dir = scratch_directory("idx_claims");
  const std::string path = (dir / "crafted-idx3-ubyte").string();
  // 2^16 x 2^16 x 2^16 x 2^16 elements: 2^64, which wrapped to an empty array read as a huge one.
  write_gz(path, idx_bytes({1u << 16, 1u << 16, 1u << 16, 1u << 16}, 0));
  CHECK(error_message([&] { data::read_idx(path); }).find("more elements than a 64-bit count") != std::string::npos);
  // 2^62 bytes claimed by a 24-byte file: the reader fails at the file's end instead of allocating the claim.
  write_gz(path, idx_bytes({(1u << 28) - 1, (1u << 28) - 1, 64}, 8));
  const std::string message = error_message([&] { data::read_idx(path); });
  CHECK(message.find("crafted-idx3-ubyte") != std::string::npos);
  CHECK(message.find("ends early after 8 of") != std::string::npos);
  write_gz(path, idx_bytes({3, 2, 2}, 13));  // one byte more than the dimensions account for
  CHECK(error_message([&] { data::read_idx(path); }).find("more data than its dimensions [3, 2, 2]") !=
        std::string::npos);
  write_gz(path, idx_bytes({3, 2, 2}, 12));
  const data::IdxArray images = data::read_idx(path);
  CHECK(data::idx_images_as_points(images, 2).shape() == Shape{2, 4});
  CHECK(data::idx_images_as_points(images, 0).shape() == Shape{3, 4});
  CHECK_THROWS_AS(data::idx_images_as_points(images, -5), ValueError);
}

TEST_CASE("a gzip CRC error in an IDX file is reported as corrupt data, not as a short header") {
  const std::filesystem::path dir = scratch_directory("idx_crc");
  const std::filesystem::path path = dir / "t10k-labels-idx1-ubyte.gz";
  write_gz(path, idx_bytes({3}, 3));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() - 8] ^= 0x01;  // the gzip trailer: CRC-32, then the length
  write_file(path, bytes);
  const std::string message = error_message([&] { data::read_idx(path.string()); });
  CHECK(message.find("corrupt gzip data (incorrect data check)") != std::string::npos);
  CHECK(message.find("ends early") == std::string::npos);
  write_file(path, bytes.substr(0, bytes.size() / 2));  // a cut gzip stream
  CHECK(error_message([&] { data::read_idx(path.string()); }).find("cut short") != std::string::npos);
}

TEST_CASE("shape sizes are overflow-checked: a wrapped element or byte count raises ShapeError") {
  const int64_t big = int64_t{1} << 40;
  CHECK_THROWS_AS(shape_numel({big, big}), ShapeError);
  CHECK(shape_numel({big, big, 0}) == 0);
  CHECK(!checked_numel({big, big}).has_value());
  CHECK(!checked_numel({-1, 2}).has_value());
  CHECK(*checked_numel({3, 4}) == 12);
  CHECK_THROWS_AS(Tensor::empty({int64_t{1} << 60, 4}), ShapeError);  // 2^62 elements, 2^64 bytes of float32
}

TEST_CASE("npy headers: version, header length, integer shapes and data size are checked before allocating") {
  const std::filesystem::path dir = scratch_directory("npy");
  const std::string path = (dir / "cloud.npy").string();
  const std::string data = float_bytes({1, 2, 3, 4, 5, 6});
  write_file(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", data));
  CHECK(data::read_npy_points(path).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto rejected = [&](const std::string& bytes, const std::string& expected) {
    check_refused(path, bytes, data::read_npy_points, expected);
  };
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5, 2), }", data), "non-negative integers");
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", data),
           "not the 4-byte values of a [4611686018427387904, 8] array");
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 1000), }", data),
           "holds 24 data bytes");
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data), "holds 24 data bytes");
  rejected(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + "{}", "header length of 4294967295");
  rejected(std::string("\x93NUMPY\x09\x00\x10\x00", 10), "version 9.0");
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'shape': (6, 1)}", data), "repeated");
  rejected(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }", data), "'>f4'");
  rejected(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", float_bytes({1, 2, NAN, 4, 5, 6})),
           "row 1 column 0");
}

TEST_CASE(
    "CSV lines: empty fields, NUL bytes and glued numbers are errors; headers, blanks and mixed separators read") {
  const std::filesystem::path dir = scratch_directory("csv");
  const std::string path = (dir / "cloud.csv").string();
  write_file(path, "x, y\n1,2\n\n3 ;4\r\n5\t6\n");
  CHECK(data::read_csv_points(path).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto rejected = [&](const std::string& bytes, const std::string& expected) {
    check_refused(path, bytes, data::read_csv_points, expected);
  };
  rejected("1,,2\n3,4\n", "line 1: field 2 is empty");
  rejected("1,2\n3,4,\n", "line 2: field 3 is empty");
  rejected(std::string("1,2\n3,4\0,5\n", 11), "line 2: field 2 '4\\x00' is not a number");
  rejected("1,2\n3-4,5\n", "field 1 '3-4' is not a number");
  rejected("1,2\nnan,5\n", "line 2 field 1: nan is not a finite float32 value");
  rejected("1,2\n1e300,5\n", "not a finite float32 value");
}

TEST_CASE("lower-distance files: ripser's rows are read; a diagonal, a full matrix, ragged rows, an empty file fail") {
  const std::filesystem::path dir = scratch_directory("lower_distance");
  const std::string path = (dir / "dist.txt").string();
  const std::vector<float> expected{0, 1, 2, 1, 0, 3, 2, 3, 0};
  for (const char* text : {"1\n2 3\n", "\n1\n2,3\n\n\n", "1\r\n2, 3\r\n"}) {
    write_file(path, text);
    CHECK(data::read_lower_distance(path).to_vector<float>() == expected);
  }
  write_file(path, "0\n");  // two points at distance 0
  CHECK(data::read_lower_distance(path).shape() == Shape{2, 2});
  const auto rejected = [&](const std::string& bytes, const std::string& message_part) {
    check_refused(path, bytes, data::read_lower_distance, message_part);
  };
  rejected("0\n1 0\n2 3 0\n", "with its zero diagonal");
  std::string full;  // 6 x 6: 36 numbers, as many as a 9-point triangle
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) full += std::to_string(std::abs(i - j)) + (j == 5 ? "\n" : " ");
  rejected(full, "a full 6 x 6 matrix");
  rejected("1 2\n3\n4 5 6\n", "line 1 holds 2 distances where row 1");
  rejected("\n1\n2 3\n\n4 5 6 7\n", "line 4 holds 0 distances where row 3");
  rejected("1 2 3\n", "line 1 holds 3 distances");
  rejected("", "holds no distances");
  rejected("\n\n", "holds no distances");
  rejected("1\n-2 3\n", "line 2 entry 1: the distance -2 is negative");
  rejected("1\n2 nan\n", "line 2 entry 2: nan is not a finite");
  rejected("1\n2,,3\n", "line 2: field 2 is empty");
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
  // two_circles: every point within the noise of the unit circle around (3 * label, 0).
  const data::Dataset two = data::synthetic_dataset("two_circles", 400, 4, 0.01f);
  const std::vector<float> c = two.inputs.to_vector<float>();
  int64_t right = 0;
  for (int64_t i = 0; i < 400; ++i) {
    right += two.labels[i];
    CHECK(std::hypot(c[2 * i] - 3.0f * two.labels[i], c[2 * i + 1]) == doctest::Approx(1.0).epsilon(0.06));
  }
  CHECK(right == 200);
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

TEST_CASE("label files: int32 and int64 .npy of shape [n] or [n, 1] and one-column CSV are read, others refused") {
  const std::string fixtures = std::string(TL_SOURCE_DIR) + "/tests/fixtures/user_data/";
  CHECK(data::read_labels(fixtures + "y_train.npy") == std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
  CHECK(data::read_labels(fixtures + "y_test.npy") == std::vector<int32_t>{0, 2, 1, 0});  // int32 [4, 1]
  CHECK(data::read_labels(fixtures + "y.csv") == data::read_labels(fixtures + "y_train.npy"));

  const std::string dir = scratch_directory("data_labels");
  const auto refused = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
    write_file(dir + "/" + name, bytes);
    const std::string message = error_message([&] { data::read_labels(dir + "/" + name); });
    CHECK_MESSAGE(message.find(expected) != std::string::npos, message);
    CHECK_MESSAGE(message.find(name) != std::string::npos, message);
  };
  const std::vector<int32_t> three{4, -1, 2};
  const std::string three_bytes(reinterpret_cast<const char*>(three.data()), 12);
  refused("negative.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", three_bytes),
          "row 1: the label -1 is not an integer in [0, 2^31)");
  refused("float.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", three_bytes),
          "element type '<f4' is not little-endian int32 or int64");
  refused("wide.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }", three_bytes),
          "expected labels as a 1-D or [n, 1] array, the shape is [1, 3]");
  refused("short.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", three_bytes),
          "holds 12 data bytes, not the 8-byte values of a [3] array");
  const int64_t huge = int64_t(1) << 40;
  refused("huge.npy",
          npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                    std::string(reinterpret_cast<const char*>(&huge), 8)),
          "the label 1099511627776 is not an integer");
  refused("two.csv", "1,2\n3,4\n", "holds 2 columns; a label file holds one integer label per line");
  refused("half.csv", "1\n2.5\n", "row 2: the label 2.5 is not an integer");
  // The point reader still refuses integer arrays, with its own message.
  write_file(dir + "/ints.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }", three_bytes));
  CHECK(error_message([&] {
          data::read_npy_points(dir + "/ints.npy");
        }).find("element type '<i4' is not little-endian float32 or float64") != std::string::npos);
}

TEST_CASE("a seeded row split holds out ceil(fraction * n) rows, disjoint, covering all, and fixed by the seed") {
  const data::RowSplit split = data::split_rows(10000, 0.1, 3);
  CHECK(split.test.size() == 1000);  // as scikit-learn's train_test_split(test_size=0.1) of 10,000 rows
  CHECK(split.train.size() == 9000);
  std::vector<int64_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> identity(10000);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(all == identity);
  CHECK(data::split_rows(10000, 0.1, 3).test == split.test);
  CHECK(data::split_rows(10000, 0.1, 4).test != split.test);
  CHECK(data::split_rows(12, 0.25, 1).test.size() == 3);
  CHECK(data::split_rows(7, 0.1, 1).test.size() == 1);  // ceil(0.7)
  // The held-out rows are a uniform sample: about 10 % of the first half of the rows.
  const auto early = std::count_if(split.test.begin(), split.test.end(), [](int64_t r) { return r < 5000; });
  CHECK(early > 440);
  CHECK(early < 560);
  CHECK_THROWS_AS(data::split_rows(10, 1.0, 1), ValueError);
  CHECK_THROWS_AS(data::split_rows(10, 0.0, 1), ValueError);

  const data::Dataset clusters = data::synthetic_dataset("clusters", 20, 2);
  const data::Dataset picked = data::select_rows(clusters, {7, 3});
  CHECK(picked.labels == std::vector<int32_t>{2, 3});
  const std::vector<float> a = clusters.inputs.to_vector<float>(), b = picked.inputs.to_vector<float>();
  CHECK(std::equal(b.begin(), b.begin() + 10, a.begin() + 70));
  CHECK(std::equal(b.begin() + 10, b.end(), a.begin() + 30));
}

TEST_CASE("standardisation uses the fitted split's mean and population std, a constant feature divided by 1") {
  const std::string fixtures = std::string(TL_SOURCE_DIR) + "/tests/fixtures/user_data/";
  data::Dataset train{"x", data::read_npy_points(fixtures + "x_train.npy"), std::vector<int32_t>(12, 0)};
  data::Dataset test{"x", data::read_npy_points(fixtures + "x_test.npy"), std::vector<int32_t>(4, 0)};
  const data::Standardization fitted = data::fit_standardization(train.inputs);
  const double s0 = std::sqrt(143.0 / 12.0);  // the population std of 0, 1, ..., 11
  CHECK(fitted.mean == std::vector<double>{5.5, 6.0, 7.0});
  CHECK(fitted.scale[0] == doctest::Approx(s0).epsilon(1e-12));
  CHECK(fitted.scale[1] == doctest::Approx(2.0 * s0).epsilon(1e-12));
  CHECK(fitted.scale[2] == 1.0);
  data::standardize(train, fitted);
  data::standardize(test, fitted);
  const std::vector<float> x = train.inputs.to_vector<float>(), t = test.inputs.to_vector<float>();
  for (int i = 0; i < 12; ++i) {
    CHECK(x[3 * i] == doctest::Approx((i - 5.5) / s0).epsilon(1e-6));
    CHECK(x[3 * i + 1] == doctest::Approx((i - 5.5) / s0).epsilon(1e-6));
    CHECK(x[3 * i + 2] == 0.0f);
  }
  // The test rows by the training statistics: (11, 17, 8) -> (5.5 / s0, 11 / (2 s0), 1).
  CHECK(t[3] == doctest::Approx(5.5 / s0).epsilon(1e-6));
  CHECK(t[4] == doctest::Approx(5.5 / s0).epsilon(1e-6));
  CHECK(t[5] == 1.0f);
  CHECK(t[11] == -1.0f);
}

// The mean of the rows of `data` labelled `label` (101-D).
std::vector<double> label_centroid(const data::Dataset& data, int32_t label) {
  const int64_t dim = data.inputs.dim(1);
  const std::vector<float> x = data.inputs.to_vector<float>();
  std::vector<double> centroid(static_cast<size_t>(dim), 0.0);
  int64_t count = 0;
  for (int64_t i = 0; i < data.size(); ++i) {
    if (data.labels[i] != label) continue;
    ++count;
    for (int64_t k = 0; k < dim; ++k) centroid[k] += x[i * dim + k];
  }
  for (double& c : centroid) c /= static_cast<double>(std::max<int64_t>(count, 1));
  return centroid;
}

TEST_CASE("held-out synthetic samples come from the training draw's distribution: its sphere and cluster centres") {
  for (const char* name : {"spheres", "clusters"}) {
    const bool spheres = std::string(name) == "spheres";
    const data::Dataset train = data::synthetic_dataset(name, 2000, 11);
    const data::Dataset test = data::synthetic_test_dataset(name, 200, 11);
    CAPTURE(name);
    CHECK(test.size() == 200);
    const int64_t dim = train.inputs.dim(1);
    const int32_t groups = spheres ? 10 : 5;  // the small spheres (label 10, the large one, is centred at 0)
    std::vector<std::vector<double>> centroids;
    for (int32_t g = 0; g < groups; ++g) centroids.push_back(label_centroid(train, g));
    const std::vector<float> x = test.inputs.to_vector<float>();
    int64_t checked = 0, nearest_own = 0;
    for (int64_t i = 0; i < test.size(); ++i) {
      if (test.labels[i] >= groups) continue;
      ++checked;
      int32_t nearest = -1;
      double best = 1e300;
      for (int32_t g = 0; g < groups; ++g) {
        double d = 0.0;
        for (int64_t k = 0; k < dim; ++k) d += std::pow(x[i * dim + k] - centroids[g][k], 2);
        if (d < best) best = d, nearest = g;
      }
      nearest_own += nearest == test.labels[i];
      if (spheres) CHECK(std::sqrt(best) == doctest::Approx(5.0).epsilon(0.05));  // on the radius-5 sphere
    }
    CHECK(checked >= 100);
    CHECK(nearest_own == checked);
    CHECK(test.inputs.to_vector<float>() != data::synthetic_dataset(name, 200, 11).inputs.to_vector<float>());
  }
}

TEST_CASE("an isometric embedding keeps every pairwise distance and adds noise only across the frame") {
  const data::Dataset torus = data::synthetic_dataset("torus", 60, 2);
  const data::Dataset flat = data::embed_isometrically(torus, 12, 0.0f, 9, 10);
  CHECK(flat.inputs.shape() == Shape{60, 12});
  CHECK(flat.labels == torus.labels);
  const std::vector<float> x = torus.inputs.to_vector<float>(), y = flat.inputs.to_vector<float>();
  const auto distance = [](const std::vector<float>& v, int64_t dim, int64_t i, int64_t j) {
    double d = 0.0;
    for (int64_t k = 0; k < dim; ++k) d += std::pow(double(v[i * dim + k]) - v[j * dim + k], 2);
    return std::sqrt(d);
  };
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t j = 0; j < i; ++j) CHECK(distance(y, 12, i, j) == doctest::Approx(distance(x, 3, i, j)).epsilon(1e-5));

  // The same frame with noise: each point moves by a vector orthogonal to the embedded set's span, whose squared
  // length averages (12 - 3) * noise^2.
  const float noise = 0.2f;
  const std::vector<float> z = data::embed_isometrically(torus, 12, noise, 9, 10).inputs.to_vector<float>();
  double squared = 0.0;
  for (int64_t i = 0; i < 60; ++i) {
    for (int64_t j = 0; j < 60; ++j) {
      double dot = 0.0;
      for (int64_t k = 0; k < 12; ++k) dot += (double(z[i * 12 + k]) - y[i * 12 + k]) * y[j * 12 + k];
      CHECK(std::abs(dot) < 1e-4);
    }
    for (int64_t k = 0; k < 12; ++k) squared += std::pow(double(z[i * 12 + k]) - y[i * 12 + k], 2);
  }
  CHECK(squared / 60.0 == doctest::Approx(9.0 * noise * noise).epsilon(0.15));  // 540 draws: about 6 % sd
  CHECK(data::embed_isometrically(torus, 12, 0.0f, 8, 10).inputs.to_vector<float>() != y);
  CHECK_THROWS_WITH_AS(data::embed_isometrically(torus, 2, 0.0f, 9, 10),
                       doctest::Contains("embedding 'torus' in R^2: the set already has 3 features"), ValueError);
}

}  // namespace tl::testing
