// Vietoris-Rips simplices and their filtration order, written once for both backends.
//
// Simplices are named by the combinatorial number system: the edge {u, v} with u > v has index
// u(u-1)/2 + v, the triangle {a, b, c} with a > b > c has index C(a,3) + C(b,2) + C(c,1). A simplex's value is
// its diameter (its longest edge). The filtration order, used for every tie in topolatent, is:
//   diameter ascending; among equal diameters, the larger combinatorial index first
// (the order ripser uses). It is a strict total order per dimension, so the minimum spanning tree, every
// persistence pair and every critical edge are unique.
#pragma once

#include <cstdint>

#include "core/hostdevice.h"

namespace tl::kernels {

struct Edge {
  int32_t u = -1;  // u > v for a real edge; {-1, -1} where no edge applies
  int32_t v = -1;
};

// One edge of a minimum spanning tree (or forest) with its length.
struct WeightedEdge {
  Edge edge;
  float length = 0.0f;
};

TL_HD int64_t edge_index(int32_t u, int32_t v) {
  const int64_t hi = u > v ? u : v, lo = u > v ? v : u;
  return hi * (hi - 1) / 2 + lo;
}

TL_HD int64_t triangle_index(int32_t a, int32_t b, int32_t c) {  // requires a > b > c
  const int64_t x = a, y = b;
  return x * (x - 1) * (x - 2) / 6 + y * (y - 1) / 2 + c;
}

// True when simplex (diameter_a, index_a) comes strictly before (diameter_b, index_b) in the filtration.
TL_HD bool filtration_before(float diameter_a, int64_t index_a, float diameter_b, int64_t index_b) {
  return diameter_a < diameter_b || (diameter_a == diameter_b && index_a > index_b);
}

// Inverse of triangle_index: the vertices a > b > c, found by walking down from an upper bound on a.
TL_HD void triangle_vertices(int64_t index, int32_t max_vertex, int32_t& a, int32_t& b, int32_t& c) {
  int64_t x = max_vertex;
  while (x * (x - 1) * (x - 2) / 6 > index) --x;
  index -= x * (x - 1) * (x - 2) / 6;
  int64_t y = x - 1;
  while (y * (y - 1) / 2 > index) --y;
  a = static_cast<int32_t>(x);
  b = static_cast<int32_t>(y);
  c = static_cast<int32_t>(index - y * (y - 1) / 2);
}

// The triangle's last edge in the filtration (its diameter edge; among equal lengths the smallest index).
// dist is the row-major n x n distance matrix.
TL_HD Edge max_facet(const float* dist, int64_t n, int32_t a, int32_t b, int32_t c) {
  // Candidates in increasing edge index: {b,c} < {a,c} < {a,b}; a later candidate wins only when longer.
  Edge best{b, c};
  float best_length = dist[b * n + c];
  if (dist[a * n + c] > best_length) {
    best = Edge{a, c};
    best_length = dist[a * n + c];
  }
  if (dist[a * n + b] > best_length) best = Edge{a, b};
  return best;
}

}  // namespace tl::kernels
