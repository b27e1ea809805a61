// Vietoris-Rips simplices and their filtration order, written once for both backends.
//
// Simplices are named by the combinatorial number system: the edge {u, v} with u > v has index
// u(u-1)/2 + v, the triangle {a, b, c} with a > b > c has index C(a,3) + C(b,2) + C(c,1). A simplex's value is
// its diameter (its longest edge). The filtration order, used for every tie in topolatent, is:
//   diameter ascending; among equal diameters, the larger combinatorial index first
// (the order ripser uses). It is a strict total order per dimension, so the minimum spanning tree, every
// persistence pair and every critical edge are unique.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/hostdevice.h"

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

// Inverse of edge_index: the vertices u > v of the edge with this index.
TL_HD Edge edge_vertices(int64_t index) {
  int64_t u = static_cast<int64_t>((1.0 + ::sqrt(1.0 + 8.0 * static_cast<double>(index))) / 2.0);
  while (u * (u - 1) / 2 > index) --u;  // the double estimate can be one off either way
  while ((u + 1) * u / 2 <= index) ++u;
  return Edge{static_cast<int32_t>(u), static_cast<int32_t>(index - u * (u - 1) / 2)};
}

TL_HD int64_t triangle_index(int32_t a, int32_t b, int32_t c) {  // requires a > b > c
  const int64_t x = a, y = b;
  return x * (x - 1) * (x - 2) / 6 + y * (y - 1) / 2 + c;
}

// True when simplex (diameter_a, index_a) comes strictly before (diameter_b, index_b) in the filtration.
TL_HD bool filtration_before(float diameter_a, int64_t index_a, float diameter_b, int64_t index_b) {
  return diameter_a < diameter_b || (diameter_a == diameter_b && index_a > index_b);
}

// Whether an edge of this length is in the filtration cut at `threshold`: no longer than it, and finite (an
// infinite length is no edge, even under an infinite threshold; Prim then starts a new tree on every device).
TL_HD bool edge_within(float length, float threshold) {
  return length <= threshold && length < INFINITY;
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

// The triangle spanned by edge {u, v} (u > v) and a third vertex k.
TL_HD int64_t triangle_with(Edge e, int32_t k) {
  if (k > e.u) return triangle_index(k, e.u, e.v);
  if (k > e.v) return triangle_index(e.u, k, e.v);
  return triangle_index(e.u, e.v, k);
}

// A column of the degree-1 cohomology reduction: an edge within the threshold that is not in the spanning forest.
// When the edge's earliest cofacet has the edge's own diameter, it is the triangle {u, v, cofacet_vertex}: the
// column's pivot before any reduction, so the column is an emergent pair unless a later column claimed that
// triangle first. When the edge is also the triangle's latest facet, no other column can contain the triangle and
// the pair is apparent: it needs neither a reduction nor a look-up. Both pairs have zero persistence.
struct H1Column {
  float diameter = 0.0f;
  Edge edge;
  int32_t cofacet_vertex = -1;  // -1: every cofacet is longer than the edge
  int32_t apparent = 0;         // 1 when (edge, cofacet) is an apparent pair
};

// The sort key of a reduction column from its diameter's bits (a float >= 0, and +0 rather than -0: its sign bit is
// clear) and its edge index, which must be below 2^index_bits: ascending keys list the columns latest in the
// filtration first (diameter descending, then edge index ascending). The key uses bits [0, 31 + index_bits) only, so
// a radix sort needs no more; edge indices fit 32 bits (a cloud has at most 65,536 points).
TL_HD uint64_t column_sort_key(uint32_t diameter_bits, int64_t index, int index_bits) {
  return (static_cast<uint64_t>(0x7fffffffu - diameter_bits) << index_bits) | static_cast<uint64_t>(index);
}

// The edge index of a column's sort key (column_sort_key with the same index_bits).
TL_HD int64_t column_key_index(uint64_t key, int index_bits) {
  return static_cast<int64_t>(key & ((uint64_t(1) << index_bits) - 1));
}

// The fewest index bits for the edges of a cloud with `edges` edges, leaving the all-ones index unused (so that a
// column's key never equals an all-ones key marking a non-column).
TL_HD int column_index_bits(int64_t edges) {
  int bits = 1;
  while ((int64_t(1) << bits) <= edges) ++bits;
  return bits;
}

// Cofacets of {u, v} with the edge's diameter d come first in the filtration, larger triangle index first, and
// the triangle index grows with the third vertex k; so the earliest is the largest k with D[u,k], D[v,k] <= d.
TL_HD bool cofacet_within(const float* row_u, const float* row_v, Edge e, int32_t k, float d) {
  return row_u[k] <= d && row_v[k] <= d && k != e.u && k != e.v;
}

// Whether (e, triangle {u, v, k}) is an apparent pair: e is the triangle's latest facet.
TL_HD bool is_apparent(const float* dist, int64_t n, Edge e, int32_t k) {
  const int32_t a = k > e.u ? k : e.u;
  const int32_t c = k < e.v ? k : e.v;
  const int32_t b = e.u + e.v + k - a - c;
  const Edge latest = max_facet(dist, n, a, b, c);
  return latest.u == e.u && latest.v == e.v;
}

// The column of edge e with diameter d, its emergent cofacet found by a scan down from the last vertex.
TL_HD H1Column h1_column(const float* dist, int64_t n, Edge e, float d) {
  H1Column column;
  column.diameter = d;
  column.edge = e;
  const float* row_u = dist + static_cast<int64_t>(e.u) * n;
  const float* row_v = dist + static_cast<int64_t>(e.v) * n;
  for (int64_t k = n - 1; k >= 0; --k) {
    if (cofacet_within(row_u, row_v, e, static_cast<int32_t>(k), d)) {
      column.cofacet_vertex = static_cast<int32_t>(k);
      column.apparent = is_apparent(dist, n, e, column.cofacet_vertex);
      break;
    }
  }
  return column;
}

}  // namespace tl::kernels
