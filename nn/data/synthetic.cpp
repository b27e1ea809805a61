// Synthetic point clouds (see synthetic.h). Angles and offsets come from Tensor::uniform / Tensor::normal, so the
// same seed gives the same cloud on every machine.
#include "nn/data/synthetic.h"

#include <cmath>
#include <vector>

#include "core/base/error.h"

namespace tl::data {
namespace {

constexpr float kTwoPi = 6.28318530717958647692f;

std::vector<float> uniform_values(int64_t count, Generator& generator) {
  return Tensor::uniform({count}, generator, 0.0f, 1.0f).to_vector<float>();
}

// Adds N(0, noise^2) to every coordinate of a row-major [n, dim] array and wraps it as a tensor.
Tensor with_noise(std::vector<float> values, int64_t n, int64_t dim, float noise, Generator& generator) {
  if (noise > 0.0f) {
    const std::vector<float> offsets = Tensor::normal({n * dim}, generator, 0.0f, noise).to_vector<float>();
    for (size_t i = 0; i < values.size(); ++i) values[i] += offsets[i];
  }
  return Tensor::from_vector(values, {n, dim});
}

// n points on unit circles: point i on circle circle_of(i) with centre (cx, 0).
template <class CentreOf>
Tensor circles(int64_t n, float noise, Generator& generator, CentreOf centre_x) {
  TL_CHECK_AS(ValueError, n > 0 && noise >= 0.0f, "circle sample: n must be > 0 and noise >= 0 (n = ", n,
              ", noise = ", noise, ")");
  const std::vector<float> angles = uniform_values(n, generator);
  std::vector<float> values(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const float centre = centre_x(i);
    const float angle = kTwoPi * angles[i];
    values[2 * i] = centre + std::cos(angle);
    values[2 * i + 1] = std::sin(angle);
  }
  return with_noise(std::move(values), n, 2, noise, generator);
}

}  // namespace

Tensor uniform_cube(int64_t n, int64_t dim, Generator& generator) {
  return Tensor::uniform({n, dim}, generator);
}

Tensor gaussian_cloud(int64_t n, int64_t dim, Generator& generator) {
  return Tensor::normal({n, dim}, generator);
}

Tensor noisy_circle(int64_t n, float radius, float noise, Generator& generator) {
  Tensor unit = circles(n, 0.0f, generator, [](int64_t) { return 0.0f; });
  std::vector<float> values = unit.to_vector<float>();
  for (float& v : values) v *= radius;
  return with_noise(std::move(values), n, 2, noise, generator);
}

Tensor two_circles(int64_t n, float noise, Generator& generator) {
  return circles(n, noise, generator, [n](int64_t i) { return i < n / 2 ? 0.0f : 3.0f; });
}

Tensor figure_eight(int64_t n, float noise, Generator& generator) {
  // Unit circles centred at (-1, 0) and (1, 0) touch at the origin.
  return circles(n, noise, generator, [n](int64_t i) { return i < n / 2 ? -1.0f : 1.0f; });
}

Tensor sphere(int64_t n, float noise, Generator& generator) {
  TL_CHECK_AS(ValueError, n > 0, "sphere sample: n must be > 0, got ", n);
  std::vector<float> values = Tensor::normal({n, 3}, generator).to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    float* p = &values[static_cast<size_t>(3 * i)];
    const float norm = std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    for (int k = 0; k < 3; ++k) p[k] = norm > 0.0f ? p[k] / norm : (k == 0 ? 1.0f : 0.0f);
  }
  return with_noise(std::move(values), n, 3, noise, generator);
}

Tensor torus(int64_t n, float major, float minor, float noise, Generator& generator) {
  TL_CHECK_AS(ValueError, n > 0 && major > minor && minor > 0.0f,
              "torus sample: need n > 0 and major > minor > 0 (n = ", n, ", major = ", major, ", minor = ", minor, ")");
  const std::vector<float> u = uniform_values(n, generator), v = uniform_values(n, generator);
  std::vector<float> values(static_cast<size_t>(3 * n));
  for (int64_t i = 0; i < n; ++i) {
    const float a = kTwoPi * u[i], b = kTwoPi * v[i];
    values[3 * i] = (major + minor * std::cos(b)) * std::cos(a);
    values[3 * i + 1] = (major + minor * std::cos(b)) * std::sin(a);
    values[3 * i + 2] = minor * std::sin(b);
  }
  return with_noise(std::move(values), n, 3, noise, generator);
}

Tensor line_segment(int64_t n, Generator& generator) {
  const std::vector<float> x = uniform_values(n, generator);
  std::vector<float> values(static_cast<size_t>(2 * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) values[2 * i] = x[i];
  return Tensor::from_vector(values, {n, 2});
}

}  // namespace tl::data
