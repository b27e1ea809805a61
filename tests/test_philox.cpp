// Philox4x32-10 against the published Random123 known-answer vectors, the fill layout, fill values pinned to an
// independent computation (one rounding per multiply-add, as on the GPU), and the statistics of the uniform and
// normal fills.
#include <cmath>
#include <cstring>

#include "core/base/philox.h"
#include "tests/test_support.h"

namespace tl::testing {

TEST_CASE("Philox4x32-10 reproduces Random123's known-answer vectors") {
  struct Kat {
    philox::Block counter;
    uint32_t key0, key1;
    philox::Block expected;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& kat : kats) {
    const philox::Block out = philox::philox4x32_10(kat.counter, kat.key0, kat.key1);
    for (int lane = 0; lane < 4; ++lane) CHECK(out.v[lane] == kat.expected.v[lane]);
  }
}

TEST_CASE("a uniform fill takes lane i % 4 of block offset + i / 4 mapped onto the range") {
  Generator generator(0x1234567890abcdefULL, 5);
  const std::vector<float> values = Tensor::uniform({10}, generator, -1.0f, 3.0f).to_vector<float>();
  for (uint64_t i = 0; i < 10; ++i) {
    const philox::Block block =
        philox::philox4x32_10({{static_cast<uint32_t>(5 + i / 4), 0, 0, 0}}, 0x90abcdefu, 0x12345678u);
    const float unit = static_cast<float>(block.v[i % 4] >> 8) / 16777216.0f;
    CHECK(values[i] == -1.0f + 4.0f * unit);
  }
  CHECK(generator.offset() == 5 + 3);  // 10 values use 3 blocks
}

namespace {

float from_bits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

}  // namespace

// The expected bits come from a separate Philox4x32-10 in Python (checked against the same known answers), with
// low + (high - low) u and mean + stddev z evaluated exactly in rationals and rounded once: what a fused
// multiply-add gives, and what nvcc's contraction gives on the GPU. Computed as a product and then a sum (two
// roundings, a host build without FMA contraction), uniform elements 2, 5, 7 and 8 come out one ulp away.
TEST_CASE("uniform and normal fills are pinned to values rounded once per multiply-add") {
  Generator uniform_generator(2024, 3);
  const std::vector<float> u = Tensor::uniform({9}, uniform_generator, -2.0f, 3.0f).to_vector<float>();
  const uint32_t uniform_bits[9] = {0x3fa91a90u, 0x3ed1fac0u, 0xbf5212f9u, 0xbf3eeeccu, 0xbff40935u,
                                    0x3e578914u, 0x3fb2bc42u, 0x400f5069u, 0x3f21ef8au};
  for (int i = 0; i < 9; ++i) {
    CAPTURE(i);
    CHECK(u[static_cast<size_t>(i)] == from_bits(uniform_bits[i]));
  }
  Generator normal_generator(2024, 3);
  const std::vector<float> z = Tensor::normal({6}, normal_generator, 2.0f, 3.0f).to_vector<float>();
  const uint32_t normal_bits[6] = {0xbf324ae4u, 0x3ffc94b7u, 0xc0bd1b69u, 0x4061673cu, 0xbfb2b7e9u, 0x40c93a1eu};
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(z[static_cast<size_t>(i)] == from_bits(normal_bits[i]));
  }
}

// Over many elements: each uniform value is (high - low) u + low rounded once. In double the product of a float
// range and a 24-bit u is exact, and so is the sum with low here, so the single float rounding is the fma's. The
// same values rounded twice (float product, then float sum) must differ somewhere, or the test could not tell.
TEST_CASE("every uniform fill value is the fused multiply-add of the range and the unit value") {
  const float low = -0.75f, high = 2.25f;  // range 3: not a power of two, so rounding the product matters
  const int64_t n = 4096;
  Generator generator(99, 11);
  const std::vector<float> values = Tensor::uniform({n}, generator, low, high).to_vector<float>();
  int64_t double_rounding_differs = 0;
  for (int64_t i = 0; i < n; ++i) {
    const philox::Block block = philox::block_at(99, 11 + static_cast<uint64_t>(i) / 4);
    const double unit = static_cast<double>(block.v[i % 4] >> 8) / 16777216.0;
    const double exact = static_cast<double>(high - low) * unit + static_cast<double>(low);
    const float rounded_twice = static_cast<float>(static_cast<double>(static_cast<float>((high - low) * unit)) + low);
    CAPTURE(i);
    CHECK(values[static_cast<size_t>(i)] == static_cast<float>(exact));
    double_rounding_differs += rounded_twice != static_cast<float>(exact);
  }
  CHECK(double_rounding_differs > n / 10);
}

TEST_CASE("consecutive fills continue one stream and the same seed replays it") {
  Generator whole(42), parts(42);
  const std::vector<float> all = Tensor::uniform({16}, whole).to_vector<float>();
  const std::vector<float> first = Tensor::uniform({8}, parts).to_vector<float>();
  const std::vector<float> second = Tensor::uniform({8}, parts).to_vector<float>();
  CHECK(std::vector<float>(all.begin(), all.begin() + 8) == first);
  CHECK(std::vector<float>(all.begin() + 8, all.end()) == second);
  Generator other_seed(43);
  CHECK(Tensor::uniform({8}, other_seed).to_vector<float>() != first);
}

TEST_CASE("uniform and normal fills have the right moments") {
  Generator generator(7);
  const int n = 200000;
  const std::vector<float> u = Tensor::uniform({n}, generator).to_vector<float>();
  double mean = 0, square = 0;
  for (float x : u) {
    CHECK_UNARY(x >= 0.0f && x < 1.0f);
    mean += x;
    square += static_cast<double>(x) * x;
  }
  mean /= n;
  // Standard errors: 0.29 / sqrt(n) = 6.5e-4 for the mean; allow 5 of them.
  CHECK(std::fabs(mean - 0.5) < 3.3e-3);
  CHECK(std::fabs(square / n - mean * mean - 1.0 / 12.0) < 2e-3);

  const std::vector<float> z = Tensor::normal({n}, generator, 2.0f, 3.0f).to_vector<float>();
  double zm = 0, zs = 0;
  int within_one_sigma = 0;
  for (float x : z) {
    zm += x;
    zs += (x - 2.0) * (x - 2.0);
    within_one_sigma += std::fabs(x - 2.0) < 3.0;
  }
  CHECK(std::fabs(zm / n - 2.0) < 5 * 3.0 / std::sqrt(n));
  CHECK(std::fabs(std::sqrt(zs / n) - 3.0) < 0.02);
  CHECK(std::fabs(within_one_sigma / static_cast<double>(n) - 0.682689) < 5e-3);
}

}  // namespace tl::testing
