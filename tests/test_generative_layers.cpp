// The layers of the GAN and diffusion model families and the DDPM / DDIM math: BatchNorm2d and GroupNorm against
// hand-computed statistics and double loops (running statistics after one step against PyTorch's update formula,
// evaluation mode), SiLU, Upsample2x and AvgPool2d against hand values and their exact gradients
// (AvgPool2d(Upsample2x(x)) == x bit for bit), the sinusoidal timestep embedding against sin/cos of hand-derived
// frequencies, finite-difference gradients through every layer; the linear noise schedule against a long double
// recomputation and a hand-sized schedule (betas 0.1 .. 0.5), q_sample, the ancestral and DDIM steps against hand
// arithmetic and against the posterior-mean form, and both samplers with an oracle epsilon model ending at x_0.
#include <cmath>

#include "nn/diffusion.h"
#include "nn/layers.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

std::vector<float> values(const Tensor& t) {
  return t.to_vector<float>();
}

// A loss that no normalisation makes constant: a fixed random weighting plus a cubic term.
Tensor probe_loss(const Tensor& y, uint64_t seed) {
  const Tensor weights = random_tensor(y.shape(), seed);
  return sum(y * weights) + sum(pow(y, 3.0f)) * 0.1f;
}

// The hand-sized schedule: betas 0.1, 0.2, 0.3, 0.4, 0.5, so alpha_bars 0.9, 0.72, 0.504, 0.3024, 0.1512.
nn::NoiseSchedule hand_schedule() {
  return nn::linear_noise_schedule(5, 0.1, 0.5);
}
constexpr long double kHandAlphaBars[5] = {0.9L, 0.72L, 0.504L, 0.3024L, 0.1512L};

}  // namespace

TEST_CASE("BatchNorm2d normalises each channel by hand-computed batch statistics and updates running ones") {
  // x [2, 2, 1, 2]: channel 0 holds 1, 3 | 5, 7 (mean 4, biased variance 5); channel 1 holds 0, 0 | 2, 2 (mean 1,
  // biased variance 1). Four values per channel: the unbiased variance is 4/3 of the biased one.
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 3, 0, 0, 5, 7, 2, 2}, {2, 2, 1, 2});
  nn::BatchNorm2d norm(2);
  norm.weight = Tensor::from_vector(std::vector<float>{2.0f, -1.0f}, {2});
  norm.bias = Tensor::from_vector(std::vector<float>{0.5f, 1.0f}, {2});
  const double s0 = 2.0 / std::sqrt(5.0 + 1e-5), s1 = -1.0 / std::sqrt(1.0 + 1e-5);
  const std::vector<float> expected = {float(-3 * s0 + 0.5), float(-1 * s0 + 0.5), float(-1 * s1 + 1),
                                       float(-1 * s1 + 1),   float(1 * s0 + 0.5),  float(3 * s0 + 0.5),
                                       float(1 * s1 + 1),    float(1 * s1 + 1)};
  const Tensor y = norm(x);
  CHECK(y.shape() == Shape{2, 2, 1, 2});
  check_close(values(y), expected, 1e-6, 1e-6, "batch norm 2d forward");
  // r <- 0.9 r + 0.1 s: means 0.4 and 0.1; variances 0.9 + 0.1 * 5 * 4/3 and 0.9 + 0.1 * 1 * 4/3.
  check_close(values(norm.running_mean), {0.4f, 0.1f}, 1e-6, 1e-7, "running mean");
  check_close(values(norm.running_var), {float(0.9 + 0.5 * 4 / 3.0), float(0.9 + 0.1 * 4 / 3.0)}, 1e-6, 1e-7,
              "running variance (unbiased)");
  CHECK_FALSE(norm.running_mean.requires_grad());

  norm.eval();  // the running statistics now, the same for every sample
  const double rv0 = 0.9 + 0.5 * 4 / 3.0, rv1 = 0.9 + 0.1 * 4 / 3.0;
  const std::vector<float> xs = values(x), evaluated = values(norm(x));
  for (int i = 0; i < 8; ++i) {
    const int c = (i / 2) % 2;
    const double want =
        c == 0 ? (xs[i] - 0.4) / std::sqrt(rv0 + 1e-5) * 2.0 + 0.5 : (xs[i] - 0.1) / std::sqrt(rv1 + 1e-5) * -1.0 + 1.0;
    CHECK(evaluated[i] == doctest::Approx(want).epsilon(1e-6));
  }
  check_close(values(norm.running_mean), {0.4f, 0.1f}, 1e-6, 1e-7, "evaluation leaves the running mean alone");

  CHECK_THROWS_AS(norm(random_tensor({2, 3, 2, 2}, 1)), ShapeError);
  CHECK_THROWS_AS(norm(random_tensor({2, 2, 4}, 1)), ShapeError);
  norm.train();
  CHECK_THROWS_AS(norm(random_tensor({1, 2, 1, 1}, 1)), ShapeError);  // one value per channel
  CHECK_NOTHROW(norm(random_tensor({1, 2, 1, 2}, 1)));                // one sample, two pixels: allowed
  CHECK(norm.named_buffers().size() == 2);
  CHECK(norm.named_parameters().size() == 2);
}

TEST_CASE("BatchNorm2d equals a double loop on a random batch and its gradients match finite differences") {
  const int64_t n = 3, c = 2, h = 3, w = 4;
  const Tensor x = random_tensor({n, c, h, w}, 5, -2.0f, 3.0f);
  nn::BatchNorm2d norm(c, 0.2f, 1e-3f);
  const std::vector<float> xs = values(x), y = values(norm(x)), rm = values(norm.running_mean),
                           rv = values(norm.running_var);
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = 0, v = 0;
    const double count = double(n * h * w);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < h * w; ++p) m += xs[(b * c + ch) * h * w + p] / count;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < h * w; ++p) v += std::pow(xs[(b * c + ch) * h * w + p] - m, 2) / count;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < h * w; ++p) {
        const int64_t i = (b * c + ch) * h * w + p;
        CHECK(y[i] == doctest::Approx((xs[i] - m) / std::sqrt(v + 1e-3)).epsilon(1e-5));
      }
    CHECK(rm[ch] == doctest::Approx(0.2 * m).epsilon(1e-5));
    CHECK(rv[ch] == doctest::Approx(0.8 + 0.2 * v * count / (count - 1)).epsilon(1e-5));
  }
  auto loss = [&](const std::vector<Tensor>& v) {
    norm.weight = v[1];
    norm.bias = v[2];
    return probe_loss(norm(v[0]), 9);
  };
  const Tensor gamma = random_tensor({c}, 4, 0.5f, 1.5f), beta = random_tensor({c}, 6);
  for (size_t which = 0; which < 3; ++which)
    check_gradient(loss, {x, gamma, beta}, which, "batch norm 2d input " + std::to_string(which), 1e-3f, 3e-2, 5e-3);
  norm.eval();
  check_gradient(loss, {x, gamma, beta}, 0, "batch norm 2d (evaluation) input", 1e-3f, 3e-2, 5e-3);
}

TEST_CASE("GroupNorm normalises each sample's channel groups by hand-computed statistics, in both modes") {
  // x [2, 4, 1, 2], two groups of two channels. Sample 0: group 0 holds 1, 2, 3, 6 (mean 3, variance 3.5),
  // group 1 holds 0, 0, 0, 4 (mean 1, variance 3). Sample 1: group 0 holds -1, -1, 1, 1 (mean 0, variance 1),
  // group 1 holds 2, 4, 6, 8 (mean 5, variance 5).
  const Tensor x =
      Tensor::from_vector(std::vector<float>{1, 2, 3, 6, 0, 0, 0, 4, -1, -1, 1, 1, 2, 4, 6, 8}, {2, 4, 1, 2});
  nn::GroupNorm norm(2, 4);
  norm.weight = Tensor::from_vector(std::vector<float>{1.0f, 2.0f, -1.0f, 0.5f}, {4});
  norm.bias = Tensor::from_vector(std::vector<float>{0.0f, 1.0f, 0.0f, -1.0f}, {4});
  const double mean[2][2] = {{3, 1}, {0, 5}}, var[2][2] = {{3.5, 3}, {1, 5}};
  const double weight[4] = {1, 2, -1, 0.5}, bias[4] = {0, 1, 0, -1};
  const std::vector<float> xs = values(x);
  std::vector<float> expected(16);
  for (int i = 0; i < 16; ++i) {
    const int b = i / 8, ch = (i / 2) % 4, g = ch / 2;
    expected[i] = float((xs[i] - mean[b][g]) / std::sqrt(var[b][g] + 1e-5) * weight[ch] + bias[ch]);
  }
  check_close(values(norm(x)), expected, 1e-6, 1e-6, "group norm forward (training)");
  norm.eval();
  check_close(values(norm(x)), expected, 1e-6, 1e-6, "group norm forward (evaluation)");
  CHECK(norm.named_buffers().empty());

  // One group per channel is instance norm, one group for all is layer norm: check the latter on [N, C] too.
  nn::GroupNorm layer_norm(1, 3);
  const Tensor rows = Tensor::from_vector(std::vector<float>{1, 2, 6, -3, 0, 3}, {2, 3});
  check_close(
      values(layer_norm(rows)),
      {float(-2 / std::sqrt(14 / 3.0 + 1e-5)), float(-1 / std::sqrt(14 / 3.0 + 1e-5)),
       float(3 / std::sqrt(14 / 3.0 + 1e-5)), float(-3 / std::sqrt(6 + 1e-5)), 0.0f, float(3 / std::sqrt(6 + 1e-5))},
      1e-6, 1e-6, "group norm with one group on [N, C]");

  CHECK_THROWS_AS(nn::GroupNorm(3, 4), ValueError);
  CHECK_THROWS_AS(norm(random_tensor({2, 3, 2, 2}, 1)), ShapeError);
}

TEST_CASE("GroupNorm equals a double loop on random images and its gradients match finite differences") {
  const int64_t n = 2, c = 6, groups = 3, hw = 4;
  const Tensor x = random_tensor({n, c, 2, 2}, 15, -2.0f, 2.0f);
  nn::GroupNorm norm(groups, c);
  const std::vector<float> xs = values(x), y = values(norm(x));
  const int64_t per_group = c / groups * hw;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t start = (b * c + g * (c / groups)) * hw;
      double m = 0, v = 0;
      for (int64_t k = 0; k < per_group; ++k) m += xs[start + k] / double(per_group);
      for (int64_t k = 0; k < per_group; ++k) v += std::pow(xs[start + k] - m, 2) / double(per_group);
      for (int64_t k = 0; k < per_group; ++k)
        CHECK(y[start + k] == doctest::Approx((xs[start + k] - m) / std::sqrt(v + 1e-5)).epsilon(1e-5));
    }
  auto loss = [&](const std::vector<Tensor>& v) {
    norm.weight = v[1];
    norm.bias = v[2];
    return probe_loss(norm(v[0]), 19);
  };
  const Tensor gamma = random_tensor({c}, 14, 0.5f, 1.5f), beta = random_tensor({c}, 16);
  for (size_t which = 0; which < 3; ++which)
    check_gradient(loss, {x, gamma, beta}, which, "group norm input " + std::to_string(which), 1e-3f, 3e-2, 5e-3);
}

TEST_CASE("SiLU is x sigmoid(x): hand values, its parser name and finite-difference gradients") {
  CHECK(nn::parse_activation("silu") == nn::ActivationKind::Silu);
  nn::Activation silu(nn::ActivationKind::Silu);
  const Tensor x = Tensor::from_vector(std::vector<float>{0.0f, 1.0f, -2.0f, 20.0f, -20.0f}, {5});
  check_close(values(silu(x)),
              {0.0f, float(1 / (1 + std::exp(-1.0))), float(-2 / (1 + std::exp(2.0))), 20.0f,
               float(-20 / (1 + std::exp(20.0)))},
              1e-6, 1e-9, "silu forward");
  check_gradient([&](const std::vector<Tensor>& v) { return probe_loss(silu(v[0]), 3); },
                 {random_tensor({3, 4}, 2, -4.0f, 4.0f)}, 0, "silu input");
  // d/dx x sigmoid(x) = sigmoid(x) (1 + x (1 - sigmoid(x))): at 0 it is 1/2, at 1 about 0.9277.
  const Tensor at = Tensor::from_vector(std::vector<float>{0.0f, 1.0f}, {2}).set_requires_grad(true);
  sum(silu(at)).backward();
  const double s1 = 1 / (1 + std::exp(-1.0));
  check_close(values(at.grad()), {0.5f, float(s1 * (1 + (1 - s1)))}, 1e-6, 1e-7, "silu derivative");
}

TEST_CASE("Upsample2x repeats each pixel into a 2 x 2 block and sums the four gradients back") {
  nn::Upsample2x up;
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  const Tensor y = up(x);
  REQUIRE(y.shape() == Shape{1, 1, 4, 6});
  CHECK(values(y) == std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6});

  const Tensor images = random_tensor({2, 3, 3, 2}, 31).set_requires_grad(true);
  const Tensor weights = random_tensor({2, 3, 6, 4}, 32);
  sum(up(images) * weights).backward();
  const std::vector<float> ws = values(weights), grad = values(images.grad());
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const auto at = [&](int64_t r, int64_t c) { return double(ws[(p * 6 + r) * 4 + c]); };
        const double want = at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1);
        CHECK(grad[(p * 3 + i) * 2 + j] == doctest::Approx(want).epsilon(1e-6));
      }
  check_gradient([&](const std::vector<Tensor>& v) { return probe_loss(up(v[0]), 33); },
                 {random_tensor({2, 2, 2, 3}, 34)}, 0, "upsample input");
  CHECK_THROWS_AS(up(random_tensor({2, 3}, 1)), ShapeError);
}

TEST_CASE("AvgPool2d averages 2 x 2 windows, spreads gradients by a quarter, and undoes Upsample2x exactly") {
  nn::AvgPool2d pool;
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i) ramp[i] = float(i);
  const Tensor x = Tensor::from_vector(ramp, {1, 1, 4, 4});
  // Windows {0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}.
  CHECK(values(pool(x)) == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // Odd sizes drop the last row and column (floor mode): a 5 x 5 ramp pools over its top-left 4 x 4.
  std::vector<float> ramp25(25);
  for (int i = 0; i < 25; ++i) ramp25[i] = float(i);
  const Tensor odd = Tensor::from_vector(ramp25, {1, 1, 5, 5}).set_requires_grad(true);
  const Tensor pooled = pool(odd);
  REQUIRE(pooled.shape() == Shape{1, 1, 2, 2});
  CHECK(values(pooled) == std::vector<float>{3.0f, 5.0f, 13.0f, 15.0f});
  const Tensor g = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2});
  sum(pooled * g).backward();
  std::vector<float> want(25, 0.0f);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) want[r * 5 + c] = float(r / 2 * 2 + c / 2 + 1) * 0.25f;
  CHECK(values(odd.grad()) == want);

  const Tensor images = random_tensor({2, 3, 3, 5}, 41, -3.0f, 3.0f);
  CHECK(values(pool(nn::Upsample2x()(images))) == values(images));  // bit for bit
  check_gradient([&](const std::vector<Tensor>& v) { return probe_loss(pool(v[0]), 43); },
                 {random_tensor({2, 2, 4, 6}, 44)}, 0, "avg pool input");
  nn::AvgPool2d pool3(3);
  CHECK(values(pool3(odd.detach())) == std::vector<float>{6.0f});  // mean of rows 0..2, columns 0..2: 6
  CHECK_THROWS_AS(pool(random_tensor({1, 1, 1, 4}, 1)), ShapeError);
  CHECK_THROWS_AS(nn::AvgPool2d(0), ValueError);
}

TEST_CASE("the sinusoidal time embedding is sin then cos of t times powers of 1/10000, with no gradient") {
  // dim 6: half 3, frequencies exp(-log(10000) i / 2) = 1, 0.01, 0.0001.
  nn::SinusoidalTimeEmbedding embedding(6);
  const Tensor e = embedding.embed({0, 1, 10});
  REQUIRE(e.shape() == Shape{3, 6});
  std::vector<float> want;
  for (const double t : {0.0, 1.0, 10.0}) {
    for (const double f : {1.0, 0.01, 0.0001}) want.push_back(float(std::sin(t * f)));
    for (const double f : {1.0, 0.01, 0.0001}) want.push_back(float(std::cos(t * f)));
  }
  check_close(values(e), want, 1e-6, 1e-7, "time embedding dim 6");
  CHECK(values(e)[0] == 0.0f);
  CHECK(values(e)[3] == 1.0f);
  CHECK_FALSE(e.requires_grad());
  CHECK(embedding.parameters().empty());

  // forward takes an int64 or int32 timestep tensor; an odd dim ends in a zero column.
  const Tensor t64 = Tensor::from_vector(std::vector<int64_t>{10, 0}, {2});
  const Tensor t32 = Tensor::from_vector(std::vector<int32_t>{10, 0}, {2});
  std::vector<float> ten_then_zero(want.begin() + 12, want.end());  // the rows of t = 10, then t = 0
  ten_then_zero.insert(ten_then_zero.end(), want.begin(), want.begin() + 6);
  check_close(values(embedding(t64)), ten_then_zero, 1e-6, 1e-7, "time embedding of an int64 tensor");
  CHECK(values(embedding(t32)) == values(embedding(t64)));
  nn::SinusoidalTimeEmbedding odd(7);
  const std::vector<float> seven = values(odd.embed({1000}));
  REQUIRE(seven.size() == 7);
  check_close(seven,
              {float(std::sin(1000.0)), float(std::sin(10.0)), float(std::sin(0.1)), float(std::cos(1000.0)),
               float(std::cos(10.0)), float(std::cos(0.1)), 0.0f},
              1e-6, 1e-7, "time embedding dim 7 at t = 1000");
  CHECK_THROWS_AS(nn::SinusoidalTimeEmbedding(3), ValueError);
  CHECK_THROWS_AS(embedding.embed({-1}), ValueError);
  CHECK_THROWS_AS(embedding(random_tensor({2}, 1)), ValueError);  // float timesteps
}

TEST_CASE("the linear DDPM schedule matches Ho et al.'s betas and a long double recomputation") {
  const nn::NoiseSchedule s = nn::linear_noise_schedule(1000);
  REQUIRE(s.steps == 1000);
  CHECK(s.betas.front() == doctest::Approx(1e-4).epsilon(1e-14));
  CHECK(s.betas.back() == doctest::Approx(0.02).epsilon(1e-14));
  long double alpha_bar = 1.0L;
  for (int t = 0; t < 1000; ++t) {
    const long double beta = 1e-4L + (0.02L - 1e-4L) * t / 999.0L;
    const long double previous = alpha_bar;
    alpha_bar *= 1.0L - beta;
    if (t == 0 || t == 1 || t == 9 || t == 499 || t == 999) {
      CAPTURE(t);
      CHECK(s.betas[t] == doctest::Approx(double(beta)).epsilon(1e-13));
      CHECK(s.alpha_bars[t] == doctest::Approx(double(alpha_bar)).epsilon(1e-12));
      CHECK(s.alpha_bars_prev[t] == doctest::Approx(double(previous)).epsilon(1e-12));
      CHECK(s.sqrt_one_minus_alpha_bars[t] == doctest::Approx(double(std::sqrt(1.0L - alpha_bar))).epsilon(1e-12));
      CHECK(s.posterior_variances[t] ==
            doctest::Approx(double(beta * (1 - previous) / (1 - alpha_bar))).epsilon(1e-11));
    }
  }
  CHECK(s.alpha_bars[0] == doctest::Approx(0.9999).epsilon(1e-15));
  CHECK(s.alpha_bars[999] == doctest::Approx(4.04e-5).epsilon(0.01));  // the value quoted for T = 1000
  CHECK(s.posterior_variances[0] == 0.0);                              // beta~_1 = 0: x_0 is not noised

  const nn::NoiseSchedule h = hand_schedule();
  for (int t = 0; t < 5; ++t) {
    CAPTURE(t);
    CHECK(h.betas[t] == doctest::Approx(0.1 * (t + 1)).epsilon(1e-14));
    CHECK(h.alpha_bars[t] == doctest::Approx(double(kHandAlphaBars[t])).epsilon(1e-14));
    CHECK(h.alpha_bar(t) == h.alpha_bars[t]);
  }
  CHECK(h.alpha_bar(-1) == 1.0);
  // t = 2 (the paper's t = 3): beta~ = 0.3 (1 - 0.72) / (1 - 0.504), the posterior mean's coefficients likewise.
  CHECK(h.posterior_variances[2] == doctest::Approx(0.3 * 0.28 / 0.496).epsilon(1e-13));
  CHECK(h.posterior_mean_coefs_x0[2] == doctest::Approx(0.3 * std::sqrt(0.72) / 0.496).epsilon(1e-13));
  CHECK(h.posterior_mean_coefs_xt[2] == doctest::Approx(0.28 * std::sqrt(0.7) / 0.496).epsilon(1e-13));
  CHECK(nn::linear_noise_schedule(1, 0.3, 0.5).betas == std::vector<double>{0.3});
  CHECK_THROWS_AS(nn::linear_noise_schedule(0), ValueError);
  CHECK_THROWS_AS(nn::linear_noise_schedule(10, 0.02, 1e-4), ValueError);
  CHECK_THROWS_AS(h.alpha_bar(5), ValueError);
}

TEST_CASE("q_sample noises each row at its own timestep and predict_x0 recovers x_0 from the true noise") {
  const nn::NoiseSchedule h = hand_schedule();
  const Tensor x0 = random_tensor({3, 2, 2, 2}, 51), noise = random_tensor({3, 2, 2, 2}, 52);
  const std::vector<int64_t> t = {0, 2, 4};
  const std::vector<float> x = values(nn::q_sample(h, x0, t, noise)), xs = values(x0), ns = values(noise);
  for (int i = 0; i < 24; ++i) {
    const long double ab = kHandAlphaBars[t[i / 8]];
    CHECK(x[i] == doctest::Approx(double(std::sqrt(ab) * xs[i] + std::sqrt(1 - ab) * ns[i])).epsilon(1e-6));
  }
  // Differentiable in x_0 and the noise: d x_t / d x_0 = sqrt(alpha_bar_t) per row.
  const Tensor leaf = x0.clone().set_requires_grad(true);
  sum(nn::q_sample(h, leaf, t, noise)).backward();
  const std::vector<float> grad = values(leaf.grad());
  for (int i = 0; i < 24; ++i) CHECK(grad[i] == doctest::Approx(double(std::sqrt(kHandAlphaBars[t[i / 8]]))));

  const nn::NoiseSchedule s = nn::linear_noise_schedule(1000);
  Generator noise_generator(54);
  const Tensor rows = random_tensor({4, 5}, 53), eps = Tensor::normal({4, 5}, noise_generator);
  const std::vector<int64_t> steps = {0, 250, 500, 999};
  const std::vector<float> recovered = values(nn::predict_x0(s, nn::q_sample(s, rows, steps, eps), steps, eps));
  const std::vector<float> original = values(rows);
  for (int i = 0; i < 20; ++i) {
    // x_t carries float rounding of about 1e-7 (|x_t| <= a few), amplified by 1 / sqrt(alpha_bar_t) <= 160.
    const double tolerance = 1e-6 / std::sqrt(s.alpha_bars[steps[i / 5]]);
    CAPTURE(i);
    CHECK(std::fabs(recovered[i] - original[i]) <= tolerance);
  }
  CHECK_THROWS_AS(nn::q_sample(h, x0, {0, 1}, noise), ShapeError);     // one timestep per row
  CHECK_THROWS_AS(nn::q_sample(h, x0, {0, 1, 5}, noise), ValueError);  // outside [0, T)
  CHECK_THROWS_AS(nn::q_sample(h, x0, t, random_tensor({3, 8}, 1)), ShapeError);
}

TEST_CASE("the ancestral step equals Algorithm 2 and the posterior mean by hand, with noise only above t = 0") {
  const nn::NoiseSchedule h = hand_schedule();
  const Tensor x = random_tensor({2, 3}, 61), eps = random_tensor({2, 3}, 62), z = random_tensor({2, 3}, 63);
  const std::vector<float> xs = values(x), es = values(eps), zs = values(z);
  // t = 2: beta 0.3, alpha 0.7, alpha_bar 0.504, alpha_bar_prev 0.72.
  const std::vector<float> stepped = values(nn::ddpm_step(h, x, eps, 2, z));
  for (int i = 0; i < 6; ++i) {
    const long double algorithm2 =
        (xs[i] - 0.3L / std::sqrt(0.496L) * es[i]) / std::sqrt(0.7L) + std::sqrt(0.3L) * zs[i];
    const long double x0_hat = (xs[i] - std::sqrt(0.496L) * es[i]) / std::sqrt(0.504L);
    const long double posterior =
        0.3L * std::sqrt(0.72L) / 0.496L * x0_hat + 0.28L * std::sqrt(0.7L) / 0.496L * xs[i] + std::sqrt(0.3L) * zs[i];
    CHECK(stepped[i] == doctest::Approx(double(algorithm2)).epsilon(1e-6));
    CHECK(double(algorithm2) == doctest::Approx(double(posterior)).epsilon(1e-12));
  }
  // t = 0: the mean only, (x - 0.1 / sqrt(0.1) eps) / sqrt(0.9); z is not needed.
  const std::vector<float> last = values(nn::ddpm_step(h, x, eps, 0, Tensor()));
  for (int i = 0; i < 6; ++i)
    CHECK(last[i] == doctest::Approx(double((xs[i] - std::sqrt(0.1L) * es[i]) / std::sqrt(0.9L))).epsilon(1e-6));
  CHECK(values(nn::ddpm_step(h, x, eps, 0, z)) == last);

  // The generator overload draws z ~ N(0, I) from the generator: the same as drawing it first.
  Generator a(7), b(7);
  const Tensor drawn = Tensor::normal({2, 3}, b);
  CHECK(values(nn::ddpm_step(h, x, eps, 3, a)) == values(nn::ddpm_step(h, x, eps, 3, drawn)));
  CHECK(a.offset() == b.offset());
  Generator untouched(7);
  nn::ddpm_step(h, x, eps, 0, untouched);
  CHECK(untouched.offset() == Generator(7).offset());  // nothing drawn at t = 0
  CHECK_THROWS_AS(nn::ddpm_step(h, x, eps, 2, Tensor()), ShapeError);
  CHECK_THROWS_AS(nn::ddpm_step(h, x, eps, 5, z), ValueError);
}

TEST_CASE("the DDIM step with eta 0 matches hand arithmetic and moves q_sample between timesteps") {
  const nn::NoiseSchedule h = hand_schedule();
  const Tensor x = random_tensor({2, 3}, 71), eps = random_tensor({2, 3}, 72);
  const std::vector<float> xs = values(x), es = values(eps);
  // t = 3 (alpha_bar 0.3024) to s = 1 (alpha_bar 0.72), and t = 1 to s = -1 (the clean end: x0_hat).
  const std::vector<float> to1 = values(nn::ddim_step(h, x, eps, 3, 1)),
                           to_end = values(nn::ddim_step(h, x, eps, 1, -1));
  for (int i = 0; i < 6; ++i) {
    const long double x0_hat = (xs[i] - std::sqrt(1 - 0.3024L) * es[i]) / std::sqrt(0.3024L);
    CHECK(to1[i] == doctest::Approx(double(std::sqrt(0.72L) * x0_hat + std::sqrt(0.28L) * es[i])).epsilon(1e-6));
    CHECK(to_end[i] == doctest::Approx(double((xs[i] - std::sqrt(0.28L) * es[i]) / std::sqrt(0.72L))).epsilon(1e-6));
  }
  // With the true noise, a DDIM step from t to s lands on q_sample(x_0, s, noise).
  const nn::NoiseSchedule s = nn::linear_noise_schedule(1000);
  const Tensor x0 = random_tensor({3, 4}, 73), noise = random_tensor({3, 4}, 74);
  const Tensor xt = nn::q_sample(s, x0, {600, 600, 600}, noise);
  check_close(values(nn::ddim_step(s, xt, noise, 600, 200)), values(nn::q_sample(s, x0, {200, 200, 200}, noise)), 1e-5,
              1e-5, "ddim step from q_sample(600) to 200");
  CHECK_THROWS_AS(nn::ddim_step(h, x, eps, 2, 2), ValueError);
  CHECK_THROWS_AS(nn::ddim_step(h, x, eps, 2, -2), ValueError);
}

TEST_CASE("DDIM timesteps are the uniform skip, and both samplers reach x_0 under an oracle epsilon model") {
  std::vector<int64_t> fifty;
  for (int64_t i = 0; i < 50; ++i) fifty.push_back(20 * i);
  CHECK(nn::ddim_timesteps(1000, 50) == fifty);
  CHECK(nn::ddim_timesteps(10, 3) == std::vector<int64_t>{0, 3, 6});
  CHECK(nn::ddim_timesteps(5, 5) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(nn::ddim_timesteps(7, 1) == std::vector<int64_t>{0});
  CHECK_THROWS_AS(nn::ddim_timesteps(10, 0), ValueError);
  CHECK_THROWS_AS(nn::ddim_timesteps(10, 11), ValueError);

  // The oracle knows x_0: eps(x_t, t) = (x_t - sqrt(alpha_bar_t) x_0) / sqrt(1 - alpha_bar_t), so every x0_hat is x_0.
  const Tensor x0 = random_tensor({3, 4}, 81);
  const auto oracle_eps = [&x0](const nn::NoiseSchedule& s, const Tensor& x, const std::vector<int64_t>& t) {
    const double ab = s.alpha_bars[static_cast<size_t>(t[0])];
    return (x - x0 * static_cast<float>(std::sqrt(ab))) * static_cast<float>(1.0 / std::sqrt(1.0 - ab));
  };
  const nn::NoiseSchedule s = nn::linear_noise_schedule(1000);
  Generator g1(5);
  const Tensor ddim = nn::ddim_sample(
      s, {3, 4}, 20, [&](const Tensor& x, const std::vector<int64_t>& t) { return oracle_eps(s, x, t); }, g1);
  check_close(values(ddim), values(x0), 1e-4, 1e-4, "DDIM sample under the oracle");
  const nn::NoiseSchedule short_schedule = nn::linear_noise_schedule(50, 1e-4, 0.2);
  Generator g2(5);
  const Tensor ddpm = nn::ddpm_sample(
      short_schedule, {3, 4},
      [&](const Tensor& x, const std::vector<int64_t>& t) { return oracle_eps(short_schedule, x, t); }, g2);
  check_close(values(ddpm), values(x0), 1e-4, 1e-4, "DDPM sample under the oracle");

  // Clipping the predicted x_0: under the oracle every x0_hat is x_0, so both samplers end at clamp(x_0); a range
  // wider than the data leaves the prediction as it was.
  const nn::EpsilonModel oracle_short = [&](const Tensor& x, const std::vector<int64_t>& t) {
    return oracle_eps(short_schedule, x, t);
  };
  const nn::EpsilonModel clipped = nn::clip_predicted_x0(short_schedule, oracle_short, -0.5f, 0.5f);
  Generator g3(5), g4(5);
  const Tensor clamped = clamp(x0, -0.5f, 0.5f);
  check_close(values(nn::ddim_sample(short_schedule, {3, 4}, 10, clipped, g3)), values(clamped), 1e-4, 1e-4,
              "DDIM sample with x_0 clipped");
  check_close(values(nn::ddpm_sample(short_schedule, {3, 4}, clipped, g4)), values(clamped), 1e-4, 1e-4,
              "DDPM sample with x_0 clipped");
  const Tensor x_t = random_tensor({3, 4}, 82);
  const std::vector<int64_t> steps(3, 20);  // one timestep: the oracle reads t[0] for every row
  check_close(values(nn::clip_predicted_x0(short_schedule, oracle_short, -100.0f, 100.0f)(x_t, steps)),
              values(oracle_short(x_t, steps)), 1e-5, 1e-5, "a clip wider than the data");
  CHECK_THROWS_AS(nn::clip_predicted_x0(short_schedule, oracle_short, 1.0f, 1.0f), ValueError);

  // A seed fixes a sample: the same seed twice gives the same bits, another seed another sample.
  const auto shrink = [](const Tensor& x, const std::vector<int64_t>&) { return x * 0.5f; };
  Generator a(9), b(9), c(10);
  const std::vector<float> first = values(nn::ddpm_sample(short_schedule, {2, 3}, shrink, a));
  CHECK(first == values(nn::ddpm_sample(short_schedule, {2, 3}, shrink, b)));
  CHECK(first != values(nn::ddpm_sample(short_schedule, {2, 3}, shrink, c)));
  Generator r(3);
  const std::vector<int64_t> t = nn::random_timesteps(s, 2000, r);
  REQUIRE(t.size() == 2000);
  int64_t low = 1000, high = -1;
  double total = 0;
  for (const int64_t v : t) {
    low = std::min(low, v);
    high = std::max(high, v);
    total += double(v);
  }
  CHECK(low >= 0);
  CHECK(high <= 999);
  CHECK(high - low > 990);
  CHECK(total / 2000.0 == doctest::Approx(499.5).epsilon(0.05));
}

}  // namespace tl::testing
