// CUDA persistence kernels over ragged batches: pairwise distances (a direct kernel for small dimensions; for large
// ones the clouds centred, their cuBLAS Gram matrices, and a finishing kernel that recomputes cancelled entries),
// enclosing radii (a warp per row), dense Prim minimum spanning forests with one thread block per cloud (a batch of
// small clouds fills the GPU with independent blocks), and the H1 reduction columns: a sort key per edge, one CUB
// radix sort over the bits the keys use (device-wide for one cloud, segmented for a batch: the filtration sort),
// then one warp per column for its apparent or emergent pair; and the scatter of diagram gradients onto points, one
// thread per coordinate. Kernels that index clouds along grid y or z run in chunks of kMaxGridClouds clouds. Host
// arrays go up in one copy per entry point (none when the caller hands in device offsets); the only copy down is
// h1_columns' column counts. Same math and tie-breaking as kernels/cpu/topology.cpp, from the shared headers.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <vector>

#include "core/base/cuda_check.h"
#include "core/base/error.h"
#include "core/base/memory.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::kernels::cuda {
namespace {

constexpr int kDistanceTile = 16;
constexpr int kPrimThreads = 256;

// Host arrays (offsets, per-cloud scalars, incidence lists) packed into one device buffer by a single upload, each
// piece starting at a multiple of 8 bytes.
class Upload {
 public:
  struct Piece {
    const void* data;
    size_t bytes;
  };
  explicit Upload(std::initializer_list<Piece> pieces) : buffer_(packed_bytes(pieces)) {
    std::vector<unsigned char> host(packed_bytes(pieces));
    size_t at = 0;
    for (const Piece& piece : pieces) {
      starts_.push_back(at);
      if (piece.bytes > 0) std::memcpy(host.data() + at, piece.data, piece.bytes);
      at += aligned(piece.bytes);
    }
    cuda_runtime::copy(buffer_.data(), Device::CUDA, host.data(), Device::CPU, host.size());
  }
  template <typename T>
  T* piece(size_t i) const {
    return reinterpret_cast<T*>(static_cast<unsigned char*>(buffer_.data()) + starts_[i]);
  }

 private:
  static size_t aligned(size_t bytes) { return (bytes + 7) / 8 * 8; }
  static size_t packed_bytes(std::initializer_list<Piece> pieces) {
    size_t total = 0;
    for (const Piece& piece : pieces) total += aligned(piece.bytes);
    return total > 0 ? total : 8;
  }
  ScratchBuffer buffer_;
  std::vector<size_t> starts_;
};

// The batch's three offset arrays on the device: the caller's (CloudBatch::device_offsets), or one upload of them.
class BatchOffsets {
 public:
  explicit BatchOffsets(const CloudBatch& batch) : stride_(batch.count + 1) {
    if (batch.device_offsets != nullptr) {
      base_ = batch.device_offsets;
      return;
    }
    const size_t bytes = static_cast<size_t>(stride_) * sizeof(int64_t);
    upload_ = std::make_unique<Upload>(std::initializer_list<Upload::Piece>{
        {batch.point_offsets, bytes}, {batch.matrix_offsets, bytes}, {batch.edge_offsets, bytes}});
    base_ = upload_->piece<int64_t>(0);  // the pieces are contiguous: each is a multiple of 8 bytes
  }
  const int64_t* points() const { return base_; }
  const int64_t* matrices() const { return base_ + stride_; }
  const int64_t* edges() const { return base_ + 2 * stride_; }

 private:
  int64_t stride_;
  std::unique_ptr<Upload> upload_;
  const int64_t* base_ = nullptr;
};

int64_t largest_cloud(const CloudBatch& batch) {
  int64_t largest = 0;
  for (int64_t c = 0; c < batch.count; ++c) largest = batch.points(c) > largest ? batch.points(c) : largest;
  return largest;
}

// Thread (i, j) of cloud first_cloud + blockIdx.z writes D[i, j]; the direct form is symmetric by construction.
__global__ void direct_distance_kernel(const float* points, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                       int64_t dim, int64_t first_cloud, float* dist) {
  const int64_t cloud = first_cloud + blockIdx.z;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t i = int64_t(blockIdx.y) * kDistanceTile + threadIdx.y;
  const int64_t j = int64_t(blockIdx.x) * kDistanceTile + threadIdx.x;
  if (i >= n || j >= n) return;
  const float* p = points + point_offsets[cloud] * dim;
  const int64_t lo = i < j ? i : j, hi = i < j ? j : i;
  dist[matrix_offsets[cloud] + i * n + j] = i == j ? 0.0f : sqrtf(squared_distance(p + lo * dim, p + hi * dim, dim));
}

// Thread k of cloud first_cloud + blockIdx.y centres coordinate k of the cloud's points as kernels/distance_impl.h
// says: the coordinate's sum over the points in increasing order, in double, then x - mean for every point (the CPU's
// bits).
__global__ void centre_kernel(const float* points, const int64_t* point_offsets, int64_t dim, int64_t first_cloud,
                              float* centred) {
  const int64_t cloud = first_cloud + blockIdx.y;
  const int64_t first = point_offsets[cloud], end = point_offsets[cloud + 1];
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < dim; k += int64_t(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    for (int64_t i = first; i < end; ++i) sum += points[i * dim + k];
    const float mean = mean_coordinate(sum, end - first);
    for (int64_t i = first; i < end; ++i) centred[i * dim + k] = points[i * dim + k] - mean;
  }
}

// The diagonal of cloud first_cloud + blockIdx.y's Gram matrix in dist: its centred points' squared norms, into norms.
__global__ void gram_diagonal_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                     int64_t first_cloud, float* norms) {
  const int64_t cloud = first_cloud + blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    norms[point_offsets[cloud] + i] = d[i * n + i];
}

// dist holds each cloud's Gram matrix of the centred points; thread (i, j), i < j, of cloud first_cloud + blockIdx.z
// turns G[i, j] into D[i, j] (recomputing it from the centred coordinates where the Gram form cancels) and mirrors it.
__global__ void gram_finish_kernel(const float* centred, int64_t dim, const int64_t* point_offsets,
                                   const int64_t* matrix_offsets, const float* norms, int64_t first_cloud,
                                   float* dist) {
  const int64_t cloud = first_cloud + blockIdx.z;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t i = int64_t(blockIdx.y) * kDistanceTile + threadIdx.y;
  const int64_t j = int64_t(blockIdx.x) * kDistanceTile + threadIdx.x;
  if (i >= n || j >= n || i > j) return;
  float* d = dist + matrix_offsets[cloud];
  if (i == j) {
    d[i * n + i] = 0.0f;
    return;
  }
  const float* norm = norms + point_offsets[cloud];
  const float* c = centred + point_offsets[cloud] * dim;
  const float value = centred_gram_distance(c + i * dim, c + j * dim, dim, norm[i], norm[j], d[i * n + j]);
  d[i * n + j] = value;
  d[j * n + i] = value;
}

// One block per cloud (blockIdx.x), a warp per row: the row's maximum (coalesced reads), then the least of them.
// max and min are exact, so the result is the CPU's bit for bit.
__global__ void enclosing_radius_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                        float* radii) {
  __shared__ float warp_least[kBlockSize / 32];
  const int64_t cloud = blockIdx.x;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float least = INFINITY;
  for (int64_t i = warp; i < n; i += kBlockSize / 32) {
    float largest = -INFINITY;
    for (int64_t j = lane; j < n; j += 32) largest = fmaxf(largest, d[i * n + j]);
    for (int offset = 16; offset > 0; offset /= 2)
      largest = fmaxf(largest, __shfl_down_sync(0xffffffffu, largest, offset));
    least = fminf(least, largest);  // lane 0's value is the row's; the others' are never read
  }
  if (lane == 0) warp_least[warp] = least;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kBlockSize / 32; ++w) least = fminf(least, warp_least[w]);
    radii[cloud] = least;
  }
}

struct PrimCandidate {
  float length;
  int64_t index;
  int32_t vertex;  // -1: none
};

// Earlier in the filtration wins; vertices without an edge to the tree (infinite keys) by lower vertex number.
__device__ bool better(const PrimCandidate& a, const PrimCandidate& b) {
  if (b.vertex < 0) return a.vertex >= 0;
  if (a.vertex < 0) return false;
  if (filtration_before(a.length, a.index, b.length, b.index)) return true;
  if (filtration_before(b.length, b.index, a.length, a.index)) return false;
  return a.vertex < b.vertex;
}

__device__ PrimCandidate shuffle_down(const PrimCandidate& c, int offset) {
  return PrimCandidate{__shfl_down_sync(0xffffffffu, c.length, offset),
                       static_cast<int64_t>(__shfl_down_sync(0xffffffffu, static_cast<long long>(c.index), offset)),
                       __shfl_down_sync(0xffffffffu, c.vertex, offset)};
}

// One block per cloud. key/key_index/parent/in_tree are per-point scratch arrays in global memory.
__global__ void prim_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                            float threshold, float* key, int64_t* key_index, int32_t* parent, int8_t* in_tree,
                            WeightedEdge* edges, int32_t* edge_counts) {
  __shared__ PrimCandidate warp_best[kPrimThreads / 32];
  __shared__ int32_t current;
  const int64_t cloud = blockIdx.x;
  const int64_t first = point_offsets[cloud];
  const int32_t n = static_cast<int32_t>(point_offsets[cloud + 1] - first);
  const float* d = dist + matrix_offsets[cloud];
  key += first;
  key_index += first;
  parent += first;
  in_tree += first;
  edges += first;
  for (int32_t v = threadIdx.x; v < n; v += blockDim.x) {
    key[v] = INFINITY;
    key_index[v] = -1;
    parent[v] = -1;
    in_tree[v] = v == 0;
  }
  if (threadIdx.x == 0) current = 0;
  int32_t count = 0;
  __syncthreads();
  for (int32_t step = 1; step < n; ++step) {
    const float* row = d + static_cast<int64_t>(current) * n;
    PrimCandidate best{INFINITY, -1, -1};
    for (int32_t v = threadIdx.x; v < n; v += blockDim.x) {
      if (in_tree[v]) continue;
      const float length = row[v];
      const int64_t index = edge_index(current, v);
      if (edge_within(length, threshold) && filtration_before(length, index, key[v], key_index[v])) {
        key[v] = length;
        key_index[v] = index;
        parent[v] = current;
      }
      const PrimCandidate candidate{key[v], key_index[v], v};
      if (better(candidate, best)) best = candidate;
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      const PrimCandidate other = shuffle_down(best, offset);
      if (better(other, best)) best = other;
    }
    if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kPrimThreads / 32; ++w)
        if (better(warp_best[w], best)) best = warp_best[w];
      const int32_t next = best.vertex;
      in_tree[next] = 1;
      if (parent[next] >= 0) {
        const int32_t p = parent[next];
        edges[count++] = WeightedEdge{Edge{next > p ? next : p, next > p ? p : next}, key[next]};
      }
      current = next;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) edge_counts[cloud] = count;
}

// Sets in_forest[edge] for every spanning-forest edge of cloud first_cloud + blockIdx.y.
__global__ void mark_forest_kernel(const WeightedEdge* forest, const int32_t* forest_counts,
                                   const int64_t* point_offsets, const int64_t* edge_offsets, int64_t first_cloud,
                                   uint8_t* in_forest) {
  const int64_t cloud = first_cloud + blockIdx.y;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < forest_counts[cloud];
       e += int64_t(gridDim.x) * blockDim.x) {
    const Edge edge = forest[point_offsets[cloud] + e].edge;
    in_forest[edge_offsets[cloud] + edge_index(edge.u, edge.v)] = 1;
  }
}

// Edges that are not columns get all ones: they sort after every column (column_index_bits keeps a column's key
// below all ones in the sorted bits).
constexpr uint64_t kNotAColumn = ~uint64_t(0);
__device__ uint64_t column_key(float diameter, int64_t index, int index_bits) {
  return column_sort_key(__float_as_uint(diameter + 0.0f), index, index_bits);  // adding +0 turns a -0 into +0
}

// The sort key of every edge slot of cloud first_cloud + blockIdx.y; counts the columns (edges within the threshold
// outside the forest).
__global__ void column_key_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                  const int64_t* edge_offsets, const float* thresholds, const uint8_t* in_forest,
                                  int index_bits, int64_t first_cloud, uint64_t* keys,
                                  unsigned long long* column_counts) {
  const int64_t cloud = first_cloud + blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t first = edge_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  unsigned long long found = 0;
  for (int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; index < n * (n - 1) / 2;
       index += int64_t(gridDim.x) * blockDim.x) {
    const Edge e = edge_vertices(index);
    const float diameter = d[e.u * n + e.v];
    const bool column = diameter <= thresholds[cloud] && !in_forest[first + index];
    keys[first + index] = column ? column_key(diameter, index, index_bits) : kNotAColumn;
    found += column;
  }
  for (int offset = 16; offset > 0; offset /= 2) found += __shfl_down_sync(0xffffffffu, found, offset);
  if (threadIdx.x % 32 == 0 && found > 0) atomicAdd(column_counts + cloud, found);
}

// One warp per column of cloud first_cloud + blockIdx.y, in sorted order: the warp scans 32 third vertices at a time
// down from the last one (coalesced reads of rows u and v) for the emergent cofacet, as h1_column does one at a time.
__global__ void h1_column_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                 const int64_t* edge_offsets, const uint64_t* sorted_keys,
                                 const unsigned long long* column_counts, int index_bits, int64_t first_cloud,
                                 H1Column* columns) {
  const int64_t cloud = first_cloud + blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t first = edge_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t slot = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
       slot < static_cast<int64_t>(column_counts[cloud]); slot += warps) {
    const Edge e = edge_vertices(column_key_index(sorted_keys[first + slot], index_bits));
    const float diameter = d[e.u * n + e.v];
    const float* row_u = d + e.u * n;
    const float* row_v = d + e.v * n;
    int32_t found = -1;
    for (int64_t top = n - 1; top >= 0 && found < 0; top -= 32) {
      const int64_t k = top - lane;
      const unsigned hits =
          __ballot_sync(0xffffffffu, k >= 0 && cofacet_within(row_u, row_v, e, static_cast<int32_t>(k), diameter));
      if (hits) found = static_cast<int32_t>(top - (__ffs(hits) - 1));
    }
    if (lane == 0) {
      H1Column column;
      column.diameter = diameter;
      column.edge = e;
      column.cofacet_vertex = found;
      column.apparent = found >= 0 && is_apparent(d, n, e, found);
      columns[first + slot] = column;
    }
  }
}

// One thread per (point, coordinate): reads the point's incidence list, writes its gradient once.
__global__ void scatter_edge_gradients_kernel(const float* points, int64_t total_points, int64_t dim,
                                              const int64_t* offsets, const IncidentEdge* incidence, float* grad) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total_points * dim;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t p = t / dim, k = t % dim;
    grad[t] = incident_gradient(points, dim, p, k, incidence + offsets[p], incidence + offsets[p + 1]);
  }
}

}  // namespace

void pairwise_distances(const float* points, const CloudBatch& batch, float* dist) {
  const BatchOffsets offsets(batch);
  const int64_t largest = largest_cloud(batch);
  const unsigned tiles = static_cast<unsigned>((largest + kDistanceTile - 1) / kDistanceTile);
  const dim3 block(kDistanceTile, kDistanceTile);
  const auto tile_grid = [&](int64_t clouds) { return dim3(tiles, tiles, static_cast<unsigned>(clouds)); };
  if (batch.dim <= kDirectDistanceMaxDim) {
    for_each_chunk(batch.count, kMaxGridClouds, [&](int64_t first, int64_t clouds) {
      direct_distance_kernel<<<tile_grid(clouds), block>>>(points, offsets.points(), offsets.matrices(), batch.dim,
                                                           first, dist);
      TL_CUDA_CHECK_LAUNCH();
    });
    return;
  }
  const int64_t total = batch.point_offsets[batch.count];
  ScratchBuffer centred_buffer(static_cast<size_t>(total * batch.dim) * sizeof(float));
  ScratchBuffer norms(static_cast<size_t>(total) * sizeof(float));
  auto* centred = static_cast<float*>(centred_buffer.data());
  for_each_chunk(batch.count, kMaxGridClouds, [&](int64_t first, int64_t clouds) {
    centre_kernel<<<dim3(grid_size(batch.dim), static_cast<unsigned>(clouds)), kBlockSize>>>(points, offsets.points(),
                                                                                             batch.dim, first, centred);
    TL_CUDA_CHECK_LAUNCH();
  });
  for (int64_t c = 0; c < batch.count; ++c) {
    const float* cloud = centred + batch.point_offsets[c] * batch.dim;
    gemm(false, true, batch.points(c), batch.points(c), batch.dim, 1.0f, cloud, cloud, 0.0f,
         dist + batch.matrix_offsets[c]);
  }
  for_each_chunk(batch.count, kMaxGridClouds, [&](int64_t first, int64_t clouds) {
    gram_diagonal_kernel<<<dim3(grid_size(largest), static_cast<unsigned>(clouds)), kBlockSize>>>(
        dist, offsets.points(), offsets.matrices(), first, static_cast<float*>(norms.data()));
    TL_CUDA_CHECK_LAUNCH();
    gram_finish_kernel<<<tile_grid(clouds), block>>>(centred, batch.dim, offsets.points(), offsets.matrices(),
                                                     static_cast<const float*>(norms.data()), first, dist);
    TL_CUDA_CHECK_LAUNCH();
  });
}

void enclosing_radii(const float* dist, const CloudBatch& batch, float* radii) {
  if (batch.count == 0) return;
  const BatchOffsets offsets(batch);
  enclosing_radius_kernel<<<static_cast<unsigned>(batch.count), kBlockSize>>>(dist, offsets.points(),
                                                                              offsets.matrices(), radii);
  TL_CUDA_CHECK_LAUNCH();
}

void minimum_spanning_forest(const float* dist, const CloudBatch& batch, float threshold, WeightedEdge* edges,
                             int32_t* edge_counts) {
  if (batch.count == 0) return;
  const BatchOffsets offsets(batch);
  const size_t total = static_cast<size_t>(batch.point_offsets[batch.count]);
  ScratchBuffer key(total * sizeof(float)), key_index(total * sizeof(int64_t)), parent(total * sizeof(int32_t)),
      in_tree(total);
  prim_kernel<<<static_cast<unsigned>(batch.count), kPrimThreads>>>(
      dist, offsets.points(), offsets.matrices(), threshold, static_cast<float*>(key.data()),
      static_cast<int64_t*>(key_index.data()), static_cast<int32_t*>(parent.data()),
      static_cast<int8_t*>(in_tree.data()), edges, edge_counts);
  TL_CUDA_CHECK_LAUNCH();
}

void h1_columns(const float* dist, const CloudBatch& batch, const float* thresholds, const WeightedEdge* forest,
                const int32_t* forest_counts, const Deadline& /*deadline*/, H1Column* columns, int64_t* column_counts) {
  const int64_t total_edges = batch.edge_offsets[batch.count];
  TL_CHECK_AS(LimitError, total_edges <= INT_MAX && batch.count <= INT_MAX,
              "persistence on CUDA: a batch holds at most ", INT_MAX, " edges for the filtration sort, this one ",
              total_edges, " in ", batch.count, " clouds (split the batch)");
  if (total_edges == 0) {
    for (int64_t c = 0; c < batch.count; ++c) column_counts[c] = 0;
    return;
  }
  const BatchOffsets offsets(batch);
  const Upload device_thresholds({{thresholds, static_cast<size_t>(batch.count) * sizeof(float)}});
  const int64_t largest = largest_cloud(batch);
  const int64_t largest_edges = largest * (largest - 1) / 2;
  // The keys use bits [0, 31 + index_bits): the sort reads no more (for clouds of 256 points, 32,640 edges: 15 index
  // bits, 46 of 64).
  const int index_bits = column_index_bits(largest_edges);
  const int end_bit = 31 + index_bits;

  ScratchBuffer in_forest(static_cast<size_t>(total_edges));
  TL_CUDA_CHECK(cudaMemsetAsync(in_forest.data(), 0, static_cast<size_t>(total_edges)));
  ScratchBuffer keys(static_cast<size_t>(total_edges) * sizeof(uint64_t));
  ScratchBuffer sorted(static_cast<size_t>(total_edges) * sizeof(uint64_t));
  ScratchBuffer counts(static_cast<size_t>(batch.count) * sizeof(unsigned long long));
  auto* device_counts = static_cast<unsigned long long*>(counts.data());
  TL_CUDA_CHECK(cudaMemsetAsync(device_counts, 0, static_cast<size_t>(batch.count) * sizeof(unsigned long long)));
  for_each_chunk(batch.count, kMaxGridClouds, [&](int64_t first, int64_t clouds) {
    mark_forest_kernel<<<dim3(grid_size(largest), static_cast<unsigned>(clouds)), kBlockSize>>>(
        forest, forest_counts, offsets.points(), offsets.edges(), first, static_cast<uint8_t*>(in_forest.data()));
    TL_CUDA_CHECK_LAUNCH();
    column_key_kernel<<<dim3(grid_size(largest_edges), static_cast<unsigned>(clouds)), kBlockSize>>>(
        dist, offsets.points(), offsets.matrices(), offsets.edges(), device_thresholds.piece<float>(0),
        static_cast<const uint8_t*>(in_forest.data()), index_bits, first, static_cast<uint64_t*>(keys.data()),
        device_counts);
    TL_CUDA_CHECK_LAUNCH();
  });

  // The filtration sort: device-wide for one cloud (all blocks on one segment), segmented for a batch.
  auto* keys_in = static_cast<const uint64_t*>(keys.data());
  auto* keys_out = static_cast<uint64_t*>(sorted.data());
  const int items = static_cast<int>(total_edges), segments = static_cast<int>(batch.count);
  const auto sort = [&](void* scratch, size_t& scratch_bytes) {
    if (batch.count == 1) {
      TL_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(scratch, scratch_bytes, keys_in, keys_out, items, 0, end_bit));
    } else {
      TL_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeys(scratch, scratch_bytes, keys_in, keys_out, items, segments,
                                                            offsets.edges(), offsets.edges() + 1, 0, end_bit));
    }
  };
  size_t scratch_bytes = 0;
  sort(nullptr, scratch_bytes);
  ScratchBuffer scratch(scratch_bytes);
  sort(scratch.data(), scratch_bytes);

  for_each_chunk(batch.count, kMaxGridClouds, [&](int64_t first, int64_t clouds) {
    h1_column_kernel<<<dim3(grid_size(largest_edges * 32), static_cast<unsigned>(clouds)), kBlockSize>>>(
        dist, offsets.points(), offsets.matrices(), offsets.edges(), keys_out, device_counts, index_bits, first,
        columns);
    TL_CUDA_CHECK_LAUNCH();
  });
  std::vector<unsigned long long> host_counts(static_cast<size_t>(batch.count));
  cuda_runtime::copy(host_counts.data(), Device::CPU, device_counts, Device::CUDA,
                     host_counts.size() * sizeof(unsigned long long));
  for (int64_t c = 0; c < batch.count; ++c) column_counts[c] = static_cast<int64_t>(host_counts[c]);
}

void scatter_edge_gradients(const float* points, int64_t total_points, int64_t dim, const int64_t* offsets,
                            const IncidentEdge* incidence, float* grad) {
  if (total_points * dim == 0) return;
  const Upload lists({{offsets, static_cast<size_t>(total_points + 1) * sizeof(int64_t)},
                      {incidence, static_cast<size_t>(offsets[total_points]) * sizeof(IncidentEdge)}});
  scatter_edge_gradients_kernel<<<grid_size(total_points * dim), kBlockSize>>>(
      points, total_points, dim, lists.piece<int64_t>(0), lists.piece<IncidentEdge>(1), grad);
  TL_CUDA_CHECK_LAUNCH();
}

}  // namespace tl::kernels::cuda

namespace tl::kernels {

#define TL_BIND_CUDA_TOPOLOGY_KERNEL(name) t.name = cuda::name;
const TopologyBackend& cuda_topology_backend() {
  return kernel_table<TopologyBackend>([](TopologyBackend& t) { TL_TOPOLOGY_KERNELS(TL_BIND_CUDA_TOPOLOGY_KERNEL) });
}
#undef TL_BIND_CUDA_TOPOLOGY_KERNEL

}  // namespace tl::kernels
