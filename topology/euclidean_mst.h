// The exact Euclidean minimum spanning tree of a large low-dimensional cloud, without a distance matrix: Boruvka
// rounds over a k-d tree (topology/spatial_index.h), each component's least outgoing edge found by nearest-neighbour
// searches that skip the tree nodes lying wholly inside the component. It is H0 persistence for clouds of millions
// of points: 10^6 points in 3-D take about 4 s on one core and 85 MiB peak for the whole process, the cloud
// included (bench/results/h0_large_2026-12-03.md).
//
// Ties: every comparison of edges is kernels::filtration_before (length ascending, then the larger edge index
// first), a strict total order, under which the minimum spanning forest is unique; the dense path's Prim computes
// it under the same order, and lengths are the dense distance matrix's floats (point_length), so both return the
// same edges with the same lengths, bit for bit. Boruvka adds only edges that are some component's least outgoing
// edge under that order, and each of them is in that unique forest.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/persistence_impl.h"

namespace tl::topology {

// The minimum spanning forest of [n, dim] points (row-major, finite coordinates, 1 <= dim <= 32: ValueError
// otherwise) using the edges with kernels::edge_within(length, threshold): n - 1 edges for a connected cloud, one
// fewer per extra component that the threshold leaves. Each edge has u > v (input indices). The edges come in the
// filtration order (length ascending, then the larger edge index first): the order of the H0 death edges, so that
// the H0 diagram is the list as it stands. Searches run in parallel over the points (OpenMP); the forest, its
// order and its lengths are the same for any number of threads.
std::vector<kernels::WeightedEdge> euclidean_mst(const float* points, int32_t n, int32_t dim,
                                                 float threshold = std::numeric_limits<float>::infinity());

}  // namespace tl::topology
