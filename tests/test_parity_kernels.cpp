// CPU-vs-CUDA parity of the kernels' edge cases: transposes beyond one tile and beyond 65,535 tile rows,
// concatenation and slicing along every axis (and an axis-0 concatenation over 2 GiB), int32 indices, GEMM with
// k == 0 or alpha == 0, sizes beyond cuBLAS's and cuDNN's int, zero-batch convolutions, grid-stride loops past the
// capped grid, sums that float accumulation would get wrong, Philox fills bit for bit, and empty tensors. Part of
// topolatent_parity: skipped (exit code 77) without a GPU.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/backend.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

std::string shape_name(const Shape& shape) {
  std::string name;
  for (const int64_t d : shape) name += (name.empty() ? "" : "x") + std::to_string(d);
  return name;
}

// Bitwise equality of two float vectors, except that any NaN equals any NaN: GPU arithmetic on a NaN returns the
// canonical NaN, x86 returns the operand's payload.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(b[i]);
    if (!both_nan && std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return false;
  }
  return true;
}

// A loss whose gradient reaches every element with a different weight: sum(y * w), w uniform, the same on both
// devices.
Tensor weighted_sum(const Tensor& y) {
  Generator generator(5);
  return sum(mul(y, Tensor::uniform(y.shape(), generator, -1.0f, 1.0f).to(y.device())));
}

}  // namespace

TEST_CASE("transposes of several tiles, partial tiles and over 65,535 tile rows equal the CPU's exactly") {
  // 2,200,000 rows: 68,750 tiles down the rows, more than a grid's y dimension (65,535) can hold.
  for (const Shape& shape : {Shape{100, 70}, Shape{33, 65}, Shape{64, 32}, Shape{1, 1000}, Shape{1000, 1},
                             Shape{2200000, 3}, Shape{3, 2200000}}) {
    CAPTURE(shape_name(shape));
    Generator generator(31);
    const Tensor x = Tensor::uniform(shape, generator, -1.0f, 1.0f);
    const Tensor gpu = transpose(x.to(Device::CUDA));
    CHECK(gpu.shape() == Shape{shape[1], shape[0]});
    CHECK(same_bits(gpu.to_vector<float>(), transpose(x).to_vector<float>()));  // pure data movement: exact
  }
}

TEST_CASE("concatenation and slicing along axis 0 and inner axes equal the CPU's exactly, forward and backward") {
  struct Concat {
    std::vector<Shape> parts;
    int axis;
  };
  const Concat concats[] = {
      {{{2, 3, 4}, {5, 3, 4}, {1, 3, 4}}, 0},  // outer == 1: one contiguous copy per part
      {{{2, 3, 4}, {0, 3, 4}, {3, 3, 4}}, 0},  // an empty part
      {{{2, 3, 4}, {2, 1, 4}, {2, 5, 4}}, 1},  // outer == 2: strided blocks
      {{{2, 3, 4}, {2, 3, 7}}, 2},             // the innermost axis: runs of 4 and 7 floats
      {{{300, 7}, {300, 1}, {300, 33}}, 1},    // many short runs
  };
  for (const Concat& c : concats) {
    CAPTURE(c.axis);
    CAPTURE(shape_name(c.parts[0]));
    std::vector<Tensor> cpu_parts, gpu_parts;
    Generator generator(32);
    for (const Shape& shape : c.parts) {
      const Tensor part = Tensor::uniform(shape, generator, -1.0f, 1.0f);
      cpu_parts.push_back(part.clone().set_requires_grad(true));
      gpu_parts.push_back(part.to(Device::CUDA).set_requires_grad(true));
    }
    const Tensor cpu = concat(cpu_parts, c.axis), gpu = concat(gpu_parts, c.axis);
    CHECK(same_bits(gpu.to_vector<float>(), cpu.to_vector<float>()));
    weighted_sum(cpu).backward();
    weighted_sum(gpu).backward();  // the backward slices the gradient back into the parts
    for (size_t i = 0; i < c.parts.size(); ++i)
      CHECK(same_bits(gpu_parts[i].grad().to_vector<float>(), cpu_parts[i].grad().to_vector<float>()));
  }
  // Slices along each axis of a [6, 5, 4] tensor, forward and backward (the backward copies into zeros).
  Generator generator(33);
  const Tensor x = Tensor::uniform({6, 5, 4}, generator, -1.0f, 1.0f);
  const int64_t ranges[][3] = {{0, 2, 5}, {1, 1, 4}, {2, 2, 4}, {2, 0, 0}};  // axis, start, end
  for (const auto& r : ranges) {
    CAPTURE(r[0]);
    const Tensor xc = x.clone().set_requires_grad(true), xg = x.to(Device::CUDA).set_requires_grad(true);
    const Tensor cpu = slice(xc, static_cast<int>(r[0]), r[1], r[2]);
    const Tensor gpu = slice(xg, static_cast<int>(r[0]), r[1], r[2]);
    CHECK(same_bits(gpu.to_vector<float>(), cpu.to_vector<float>()));
    weighted_sum(cpu).backward();
    weighted_sum(gpu).backward();
    CHECK(same_bits(xg.grad().to_vector<float>(), xc.grad().to_vector<float>()));
  }
}

TEST_CASE("an axis-0 concatenation of more than 2 GiB on CUDA places every part") {
  // Two stacks of 15,000-wide rows, 2.2 GB together: each part is one contiguous copy (outer == 1) of 1.2 and 1.02 GB
  // into a destination whose row is 2.2 GB, a pitch cudaMemcpy2D refused. Checked at the seams and the ends against
  // the parts (CUDA only: the CPU would need the same 2.2 GB again).
  const int64_t width = 15000, rows_a = 20000, rows_b = 17000;
  Generator generator(34);
  const Tensor a = Tensor::uniform({rows_a, width}, generator, -1.0f, 1.0f, Device::CUDA);
  const Tensor b = Tensor::uniform({rows_b, width}, generator, -1.0f, 1.0f, Device::CUDA);
  const Tensor both = concat({a, b}, 0);
  REQUIRE(both.numel() * static_cast<int64_t>(sizeof(float)) > (int64_t(1) << 31));
  auto rows = [](const Tensor& t, int64_t start, int64_t end) { return slice(t, 0, start, end).to_vector<float>(); };
  CHECK(same_bits(rows(both, 0, 2), rows(a, 0, 2)));
  CHECK(same_bits(rows(both, rows_a - 2, rows_a), rows(a, rows_a - 2, rows_a)));
  CHECK(same_bits(rows(both, rows_a, rows_a + 2), rows(b, 0, 2)));
  CHECK(same_bits(rows(both, rows_a + rows_b - 2, rows_a + rows_b), rows(b, rows_b - 2, rows_b)));
}

TEST_CASE("int32 and int64 indices gather and scatter-add on CUDA exactly as on the CPU") {
  Generator generator(35);
  const Tensor x = Tensor::uniform({50, 40}, generator, -1.0f, 1.0f);
  std::vector<int64_t> rows64(3000), cols64(97);
  for (size_t i = 0; i < rows64.size(); ++i) rows64[i] = static_cast<int64_t>((i * 7919) % 50);  // heavy repeats
  for (size_t i = 0; i < cols64.size(); ++i) cols64[i] = static_cast<int64_t>((i * 13) % 40);
  const std::vector<int32_t> rows32(rows64.begin(), rows64.end()), cols32(cols64.begin(), cols64.end());
  const Tensor index_pairs[][2] = {
      {Tensor::from_vector(rows32, {3000}), Tensor::from_vector(rows64, {3000})},
      {Tensor::from_vector(cols32, {97}), Tensor::from_vector(cols64, {97})},
  };
  for (int axis = 0; axis < 2; ++axis) {
    CAPTURE(axis);
    std::vector<float> reference_forward, reference_gradient;
    {
      const Tensor xc = x.clone().set_requires_grad(true);
      const Tensor y = index_select(xc, axis, index_pairs[axis][1]);
      reference_forward = y.to_vector<float>();
      weighted_sum(y).backward();
      reference_gradient = xc.grad().to_vector<float>();
    }
    for (const Tensor& index : index_pairs[axis]) {
      CAPTURE(dtype_name(index.dtype()));
      const Tensor xg = x.to(Device::CUDA).set_requires_grad(true);
      const Tensor y = index_select(xg, axis, index.to(Device::CUDA));
      // A gather is exact; the scatter-add sums each target's sources in increasing k on both devices.
      CHECK(same_bits(y.to_vector<float>(), reference_forward));
      weighted_sum(y).backward();
      CHECK(same_bits(xg.grad().to_vector<float>(), reference_gradient));
    }
  }
  // Cross-entropy with int32 labels (the labels become an int64 gather index).
  const Tensor logits = Tensor::uniform({33, 10}, generator, -3.0f, 3.0f);
  std::vector<int32_t> labels(33);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>((i * 7) % 10);
  const Tensor label_tensor = Tensor::from_vector(labels, {33});
  check_close(cross_entropy(logits.to(Device::CUDA), label_tensor.to(Device::CUDA)),
              cross_entropy(logits, label_tensor), 1e-5, 1e-6, "cross-entropy with int32 labels");
}

TEST_CASE("GEMM with k == 0 or alpha == 0 gives C = beta C in every transpose mode, as the CPU GEMM does") {
  const int64_t m = 5, n = 7;
  std::vector<float> c_start(static_cast<size_t>(m * n));
  for (size_t i = 0; i < c_start.size(); ++i) c_start[i] = 0.25f * static_cast<float>(i) - 3.0f;
  c_start[3] = std::numeric_limits<float>::quiet_NaN();  // beta == 0 must overwrite it, not multiply it
  // A and B of 3 x 7 floats with a NaN: with alpha == 0 they must not be read (the CPU returns before).
  std::vector<float> operand(21, 1.0f);
  operand[4] = std::numeric_limits<float>::quiet_NaN();
  const Tensor a_cpu = Tensor::from_vector(operand, {21}), a_gpu = a_cpu.to(Device::CUDA);
  struct Call {
    int64_t k;
    float alpha;
  };
  for (const Call call : {Call{0, 1.0f}, Call{0, 0.0f}, Call{3, 0.0f}}) {
    for (const float beta : {0.0f, 1.0f, -1.5f}) {
      for (const bool ta : {false, true}) {
        for (const bool tb : {false, true}) {
          CAPTURE(call.k);
          CAPTURE(call.alpha);
          CAPTURE(beta);
          CAPTURE(ta);
          CAPTURE(tb);
          Tensor c_cpu = Tensor::from_vector(c_start, {m, n}), c_gpu = c_cpu.to(Device::CUDA);
          kernels::cpu_backend().gemm(ta, tb, m, n, call.k, call.alpha, a_cpu.data<float>(), a_cpu.data<float>(), beta,
                                      c_cpu.data<float>());
          kernels::cuda_backend().gemm(ta, tb, m, n, call.k, call.alpha, a_gpu.data<float>(), a_gpu.data<float>(), beta,
                                       c_gpu.data<float>());
          const std::vector<float> cpu = c_cpu.to_vector<float>(), gpu = c_gpu.to_vector<float>();
          CHECK(same_bits(gpu, cpu));
          std::vector<float> expected = c_start;
          for (float& v : expected) v = beta == 0.0f ? 0.0f : beta == 1.0f ? v : v * beta;
          CHECK(same_bits(gpu, expected));
        }
      }
    }
  }
  // Through matmul: [5, 0] x [0, 7] is zeros, and the backward of [5, 3] x [3, 0] has k == 0 for dA.
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      const Tensor a = Tensor::ones(ta ? Shape{0, 5} : Shape{5, 0}, Device::CUDA);
      const Tensor b = Tensor::ones(tb ? Shape{7, 0} : Shape{0, 7}, Device::CUDA);
      CHECK(same_bits(matmul(a, b, ta, tb).to_vector<float>(), std::vector<float>(35, 0.0f)));
      Tensor a3 = Tensor::ones(ta ? Shape{3, 5} : Shape{5, 3}, Device::CUDA).set_requires_grad(true);
      const Tensor b3 = Tensor::ones(tb ? Shape{0, 3} : Shape{3, 0}, Device::CUDA);
      sum(matmul(a3, b3, ta, tb)).backward();
      CHECK(same_bits(a3.grad().to_vector<float>(), std::vector<float>(15, 0.0f)));
    }
  }
}

TEST_CASE("sizes beyond cuBLAS's and cuDNN's int are refused on CUDA with a LimitError naming them") {
  // Refused before any memory is touched, so no buffers are needed.
  const int64_t too_many = int64_t(INT32_MAX) + 1;
  CHECK_THROWS_AS(kernels::cuda_backend().gemm(false, false, too_many, 2, 3, 1.0f, nullptr, nullptr, 0.0f, nullptr),
                  LimitError);
  const std::string gemm_message = error_message(
      [&] { kernels::cuda_backend().gemm(true, false, 4, 2, too_many, 1.0f, nullptr, nullptr, 0.0f, nullptr); });
  CHECK(gemm_message.find("k = 2147483648") != std::string::npos);

  kernels::ConvShape s;
  s.batch = 1 << 16;
  s.out_channels = 8;
  s.g = {64, 128, 128, 3, 3, 1, 1, 1, 1, 128, 128};  // input: 2^16 x 64 x 128 x 128 = 2^36 elements
  CHECK_THROWS_AS(kernels::cuda_backend().conv_forward(s, nullptr, nullptr, nullptr), LimitError);
  const std::string conv_message =
      error_message([&] { kernels::cuda_backend().conv_backward_filter(s, nullptr, nullptr, nullptr); });
  CHECK(conv_message.find("input [65536, 64, 128, 128]") != std::string::npos);
}

TEST_CASE("zero-batch convolutions give empty outputs and zero weight and bias gradients, as on the CPU") {
  Generator generator(36);
  const Tensor weight = Tensor::uniform({4, 3, 3, 3}, generator, -1.0f, 1.0f);
  const Tensor bias = Tensor::uniform({4}, generator, -1.0f, 1.0f);
  const Tensor transposed_weight = Tensor::uniform({3, 4, 4, 4}, generator, -1.0f, 1.0f);
  for (const Device device : {Device::CPU, Device::CUDA}) {
    CAPTURE(device_name(device));
    const Tensor w = weight.to(device).set_requires_grad(true), b = bias.to(device).set_requires_grad(true);
    const Tensor x = Tensor::zeros({0, 3, 8, 8}, device).set_requires_grad(true);
    const Tensor y = add(conv2d(x, w, 1, 1), reshape(b, {1, 4, 1, 1}));  // nn::Conv2d's forward
    CHECK(y.shape() == Shape{0, 4, 8, 8});
    sum(y).backward();
    CHECK(x.grad().shape() == Shape{0, 3, 8, 8});
    // The gradient buffers start uninitialised: all zeros means the kernel wrote them.
    CHECK(same_bits(w.grad().to_vector<float>(), std::vector<float>(108, 0.0f)));
    CHECK(same_bits(b.grad().to_vector<float>(), std::vector<float>(4, 0.0f)));

    const Tensor tw = transposed_weight.to(device).set_requires_grad(true);
    const Tensor tx = Tensor::zeros({0, 3, 5, 5}, device).set_requires_grad(true);
    const Tensor ty = conv_transpose2d(tx, tw, 2, 1, 1);
    CHECK(ty.shape() == Shape{0, 4, 11, 11});  // (5 - 1) 2 - 2 + 4 + 1
    sum(ty).backward();
    CHECK(same_bits(tw.grad().to_vector<float>(), std::vector<float>(192, 0.0f)));
  }
}

TEST_CASE("elementwise kernels cover every element when the grid-stride loop wraps around the capped grid") {
  // The grid is capped at 65,535 x 4 blocks of 256 threads: 67,107,840 elements per sweep; 257 more make a second,
  // partial sweep. Every element must be written exactly once.
  const int64_t n = int64_t(65535) * 4 * 256 + 257;
  const Tensor x = Tensor::full({n}, 1.5f, Device::CUDA);  // fill
  const Tensor y = add(mul(x, 2.0f), relu(x));             // unary (scale, relu) and binary
  const std::vector<float> values = y.to_vector<float>();
  int64_t wrong = 0;
  for (const float v : values) wrong += v != 4.5f;
  CHECK(wrong == 0);
}

TEST_CASE("sum_all on CUDA accumulates in double like the CPU") {
  // 2^24 + 1 rounds to 2^24 in float: summed in float, the ones beside the large values are lost. In double every
  // partial sum is an exact integer, so both devices give exactly n / 2.
  const int64_t n = int64_t(1) << 22;
  std::vector<float> values(static_cast<size_t>(n));
  for (size_t i = 0; i < values.size(); ++i) {
    const float large = 16777216.0f;  // 2^24
    values[i] = i % 4 == 0 ? large : i % 4 == 2 ? -large : 1.0f;
  }
  const Tensor x = Tensor::from_vector(values, {n});
  const float expected = static_cast<float>(n / 2);
  CHECK(sum(x).item() == expected);
  CHECK(sum(x.to(Device::CUDA)).item() == expected);
  // Random values: each device rounds its double sum to float once. The orders differ, and so may the double sums in
  // their last bits, which can move the float by at most one ulp (a float sum would be off by many).
  Generator generator(37);
  const Tensor r = Tensor::uniform({3000017}, generator, -1.0f, 1.0f);
  const float cpu = sum(r).item(), gpu = sum(r.to(Device::CUDA)).item();
  CAPTURE(cpu);
  CAPTURE(gpu);
  CHECK(std::fabs(gpu - cpu) <= std::nextafter(std::fabs(cpu), INFINITY) - std::fabs(cpu));
}

TEST_CASE("Philox fills at odd sizes and offsets are bit-identical on CPU and CUDA") {
  struct Fill {
    uint64_t seed, offset;
    int64_t n;
    float a, b;  // uniform: low, high; normal: mean, stddev
  };
  const Fill fills[] = {{1, 0, 1, -2.0f, 3.0f},
                        {2, 7, 257, -0.75f, 2.25f},
                        {3, 1, 4097, 0.1f, 0.7f},
                        {4, 3, 1000, 2.0f, 3.0f},
                        {5, 0, 4095, -1.0f, 1.0f}};
  for (const Fill& f : fills) {
    CAPTURE(f.n);
    Generator cpu_uniform(f.seed, f.offset), gpu_uniform(f.seed, f.offset);
    const std::vector<float> u_cpu = Tensor::uniform({f.n}, cpu_uniform, f.a, f.b).to_vector<float>();
    const std::vector<float> u_gpu = Tensor::uniform({f.n}, gpu_uniform, f.a, f.b, Device::CUDA).to_vector<float>();
    CHECK(same_bits(u_gpu, u_cpu));  // integer Philox and one fused multiply-add: exact on both
    CHECK(gpu_uniform.offset() == cpu_uniform.offset());

    Generator cpu_normal(f.seed, f.offset), gpu_normal(f.seed, f.offset);
    const std::vector<float> z_cpu = Tensor::normal({f.n}, cpu_normal, f.a, f.b).to_vector<float>();
    const std::vector<float> z_gpu = Tensor::normal({f.n}, gpu_normal, f.a, f.b, Device::CUDA).to_vector<float>();
    // Box-Muller in double through libm (glibc vs CUDA, both within an ulp of double) rounded to float once: a
    // float difference needs a double result within 2^-29 of a float rounding boundary, so at most one in 10^4.
    int64_t differing = 0;
    for (size_t i = 0; i < z_cpu.size(); ++i) differing += z_cpu[i] != z_gpu[i];
    CHECK(differing <= f.n / 10000);
    CHECK(gpu_normal.offset() == cpu_normal.offset());
  }
}

TEST_CASE("empty tensors pass through the CUDA kernels as through the CPU ones") {
  const Tensor e = Tensor::zeros({0, 5}, Device::CUDA);
  CHECK(transpose(e).shape() == Shape{5, 0});
  CHECK(sum(e).item() == 0.0f);
  CHECK(sum(e, 0).to_vector<float>() == std::vector<float>(5, 0.0f));
  CHECK(log_softmax(e).shape() == Shape{0, 5});
  CHECK(exp(e).numel() == 0);
  CHECK(concat({e, Tensor::ones({2, 5}, Device::CUDA)}, 0).to_vector<float>() == std::vector<float>(10, 1.0f));
  const Tensor none = Tensor::from_vector(std::vector<int32_t>{}, {0}, Device::CUDA);
  CHECK(index_select(Tensor::ones({3, 5}, Device::CUDA), 0, none).shape() == Shape{0, 5});
}

}  // namespace tl::testing
