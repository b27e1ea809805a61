// Synthetic point clouds of known topology, drawn from Philox (core/base/random.h) so a seed fixes every point:
// the shapes the persistence tests, benchmarks and the TALSR/TGLML synthetic experiments use.
#pragma once

#include <cstdint>

#include "core/base/random.h"
#include "core/tensor.h"

namespace tl::data {

// Every generator returns float32 [n, dim] on the CPU; `noise` is the standard deviation of Gaussian noise
// added to every coordinate.
Tensor uniform_cube(int64_t n, int64_t dim, Generator& generator);                // uniform in [0, 1]^dim
Tensor gaussian_cloud(int64_t n, int64_t dim, Generator& generator);              // N(0, I)
Tensor noisy_circle(int64_t n, float radius, float noise, Generator& generator);  // [n, 2]
Tensor two_circles(int64_t n, float noise, Generator& generator);   // unit circles centred at (0,0) and (3,0)
Tensor figure_eight(int64_t n, float noise, Generator& generator);  // unit circles touching at the origin
Tensor sphere(int64_t n, float noise, Generator& generator);        // S^2 in R^3, uniform
Tensor torus(int64_t n, float major, float minor, float noise, Generator& generator);  // [n, 3]
Tensor line_segment(int64_t n, Generator& generator);                                  // points of [0, 1] x {0}

}  // namespace tl::data
