// CUDA persistence kernels over ragged batches: pairwise distances (a direct kernel for small dimensions; for large
// ones the clouds centred, their cuBLAS Gram matrices, and a finishing kernel that recomputes cancelled entries),
// dense Prim minimum spanning forests with one thread block per cloud (a batch of small clouds fills the GPU with
// independent blocks), and the H1 reduction columns: a sort key per edge, one CUB segmented radix sort for the whole
// batch (the filtration sort), then one warp per column for its apparent or emergent pair; and the scatter of
// diagram gradients onto points, one thread per coordinate. Same math and tie-breaking as kernels/cpu/topology.cpp,
// from the shared headers.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <limits>
#include <vector>

#include "core/base/cuda_check.h"
#include "core/base/error.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::kernels::cuda {
namespace {

constexpr int kDistanceTile = 16;
constexpr int kPrimThreads = 256;

// A host array (offsets, per-cloud scalars) copied next to the kernels that need it.
template <typename T>
class DeviceArray {
 public:
  DeviceArray(const T* host, int64_t count) : buffer_(static_cast<size_t>(count > 0 ? count : 1) * sizeof(T)) {
    if (count > 0)
      TL_CUDA_CHECK(cudaMemcpy(buffer_.data(), host, static_cast<size_t>(count) * sizeof(T), cudaMemcpyHostToDevice));
  }
  T* get() const { return static_cast<T*>(buffer_.data()); }

 private:
  ScratchBuffer buffer_;
};
using DeviceOffsets = DeviceArray<int64_t>;

int64_t largest_cloud(const CloudBatch& batch) {
  int64_t largest = 0;
  for (int64_t c = 0; c < batch.count; ++c) largest = batch.points(c) > largest ? batch.points(c) : largest;
  return largest;
}

// Thread (i, j) of cloud blockIdx.z writes D[i, j]; the direct form is symmetric by construction.
__global__ void direct_distance_kernel(const float* points, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                       int64_t dim, float* dist) {
  const int64_t cloud = blockIdx.z;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t i = int64_t(blockIdx.y) * kDistanceTile + threadIdx.y;
  const int64_t j = int64_t(blockIdx.x) * kDistanceTile + threadIdx.x;
  if (i >= n || j >= n) return;
  const float* p = points + point_offsets[cloud] * dim;
  const int64_t lo = i < j ? i : j, hi = i < j ? j : i;
  dist[matrix_offsets[cloud] + i * n + j] = i == j ? 0.0f : sqrtf(squared_distance(p + lo * dim, p + hi * dim, dim));
}

// Thread k of cloud blockIdx.y centres coordinate k of the cloud's points as kernels/distance_impl.h says: the
// coordinate's sum over the points in increasing order, in double, then x - mean for every point (the CPU's bits).
__global__ void centre_kernel(const float* points, const int64_t* point_offsets, int64_t dim, float* centred) {
  const int64_t cloud = blockIdx.y;
  const int64_t first = point_offsets[cloud], end = point_offsets[cloud + 1];
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < dim; k += int64_t(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    for (int64_t i = first; i < end; ++i) sum += points[i * dim + k];
    const float mean = mean_coordinate(sum, end - first);
    for (int64_t i = first; i < end; ++i) centred[i * dim + k] = points[i * dim + k] - mean;
  }
}

// The diagonal of cloud blockIdx.y's Gram matrix in dist: its centred points' squared norms, into norms.
__global__ void gram_diagonal_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                     float* norms) {
  const int64_t cloud = blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    norms[point_offsets[cloud] + i] = d[i * n + i];
}

// dist holds each cloud's Gram matrix of the centred points; thread (i, j), i < j, turns G[i, j] into D[i, j]
// (recomputing it from the centred coordinates where the Gram form cancels) and mirrors it.
__global__ void gram_finish_kernel(const float* centred, int64_t dim, const int64_t* point_offsets,
                                   const int64_t* matrix_offsets, const float* norms, float* dist) {
  const int64_t cloud = blockIdx.z;
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

// Sets in_forest[edge] for every spanning-forest edge of cloud blockIdx.y.
__global__ void mark_forest_kernel(const WeightedEdge* forest, const int32_t* forest_counts,
                                   const int64_t* point_offsets, const int64_t* edge_offsets, uint8_t* in_forest) {
  const int64_t cloud = blockIdx.y;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < forest_counts[cloud];
       e += int64_t(gridDim.x) * blockDim.x) {
    const Edge edge = forest[point_offsets[cloud] + e].edge;
    in_forest[edge_offsets[cloud] + edge_index(edge.u, edge.v)] = 1;
  }
}

// Edges that are not columns get all ones: they sort after every column.
constexpr uint64_t kNotAColumn = ~uint64_t(0);
__device__ uint64_t column_key(float diameter, int64_t index) {
  return column_sort_key(__float_as_uint(diameter + 0.0f), index);  // adding +0 turns a -0 into +0
}

// The sort key of every edge slot of cloud blockIdx.y; counts the columns (edges within the threshold outside
// the forest).
__global__ void column_key_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                  const int64_t* edge_offsets, const float* thresholds, const uint8_t* in_forest,
                                  uint64_t* keys, unsigned long long* column_counts) {
  const int64_t cloud = blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t first = edge_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  unsigned long long found = 0;
  for (int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; index < n * (n - 1) / 2;
       index += int64_t(gridDim.x) * blockDim.x) {
    const Edge e = edge_vertices(index);
    const float diameter = d[e.u * n + e.v];
    const bool column = diameter <= thresholds[cloud] && !in_forest[first + index];
    keys[first + index] = column ? column_key(diameter, index) : kNotAColumn;
    found += column;
  }
  for (int offset = 16; offset > 0; offset /= 2) found += __shfl_down_sync(0xffffffffu, found, offset);
  if (threadIdx.x % 32 == 0 && found > 0) atomicAdd(column_counts + cloud, found);
}

// One warp per column of cloud blockIdx.y, in sorted order: the warp scans 32 third vertices at a time down from
// the last one (coalesced reads of rows u and v) for the emergent cofacet, as h1_column does one at a time.
__global__ void h1_column_kernel(const float* dist, const int64_t* point_offsets, const int64_t* matrix_offsets,
                                 const int64_t* edge_offsets, const uint64_t* sorted_keys,
                                 const unsigned long long* column_counts, H1Column* columns) {
  const int64_t cloud = blockIdx.y;
  const int64_t n = point_offsets[cloud + 1] - point_offsets[cloud];
  const int64_t first = edge_offsets[cloud];
  const float* d = dist + matrix_offsets[cloud];
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t slot = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
       slot < static_cast<int64_t>(column_counts[cloud]); slot += warps) {
    const Edge e = edge_vertices(static_cast<int64_t>(sorted_keys[first + slot] & 0xffffffffu));
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
  const DeviceOffsets point_offsets(batch.point_offsets, batch.count + 1);
  const DeviceOffsets matrix_offsets(batch.matrix_offsets, batch.count + 1);
  const int64_t largest = largest_cloud(batch);
  const unsigned tiles = static_cast<unsigned>((largest + kDistanceTile - 1) / kDistanceTile);
  const dim3 grid(tiles, tiles, static_cast<unsigned>(batch.count)), block(kDistanceTile, kDistanceTile);
  if (batch.dim <= kDirectDistanceMaxDim) {
    direct_distance_kernel<<<grid, block>>>(points, point_offsets.get(), matrix_offsets.get(), batch.dim, dist);
    TL_CUDA_CHECK_LAUNCH();
    return;
  }
  const int64_t total = batch.point_offsets[batch.count];
  ScratchBuffer centred_buffer(static_cast<size_t>(total * batch.dim) * sizeof(float));
  ScratchBuffer norms(static_cast<size_t>(total) * sizeof(float));
  auto* centred = static_cast<float*>(centred_buffer.data());
  centre_kernel<<<dim3(grid_size(batch.dim), static_cast<unsigned>(batch.count)), kBlockSize>>>(
      points, point_offsets.get(), batch.dim, centred);
  TL_CUDA_CHECK_LAUNCH();
  for (int64_t c = 0; c < batch.count; ++c) {
    const float* cloud = centred + batch.point_offsets[c] * batch.dim;
    gemm(false, true, batch.points(c), batch.points(c), batch.dim, 1.0f, cloud, cloud, 0.0f,
         dist + batch.matrix_offsets[c]);
  }
  gram_diagonal_kernel<<<dim3(grid_size(largest), static_cast<unsigned>(batch.count)), kBlockSize>>>(
      dist, point_offsets.get(), matrix_offsets.get(), static_cast<float*>(norms.data()));
  TL_CUDA_CHECK_LAUNCH();
  gram_finish_kernel<<<grid, block>>>(centred, batch.dim, point_offsets.get(), matrix_offsets.get(),
                                      static_cast<const float*>(norms.data()), dist);
  TL_CUDA_CHECK_LAUNCH();
}

void minimum_spanning_forest(const float* dist, const CloudBatch& batch, float threshold, WeightedEdge* edges,
                             int32_t* edge_counts) {
  const DeviceOffsets point_offsets(batch.point_offsets, batch.count + 1);
  const DeviceOffsets matrix_offsets(batch.matrix_offsets, batch.count + 1);
  const size_t total = static_cast<size_t>(batch.point_offsets[batch.count]);
  ScratchBuffer key(total * sizeof(float)), key_index(total * sizeof(int64_t)), parent(total * sizeof(int32_t)),
      in_tree(total);
  prim_kernel<<<static_cast<unsigned>(batch.count), kPrimThreads>>>(
      dist, point_offsets.get(), matrix_offsets.get(), threshold, static_cast<float*>(key.data()),
      static_cast<int64_t*>(key_index.data()), static_cast<int32_t*>(parent.data()),
      static_cast<int8_t*>(in_tree.data()), edges, edge_counts);
  TL_CUDA_CHECK_LAUNCH();
}

void h1_columns(const float* dist, const CloudBatch& batch, const float* thresholds, const WeightedEdge* forest,
                const int32_t* forest_counts, const Deadline& /*deadline*/, H1Column* columns, int64_t* column_counts) {
  const int64_t total_edges = batch.edge_offsets[batch.count];
  TL_CHECK_AS(LimitError, total_edges <= INT_MAX, "persistence on CUDA: a batch holds at most ", INT_MAX,
              " edges for the filtration sort, this one ", total_edges, " (split the batch)");
  if (total_edges == 0) {
    for (int64_t c = 0; c < batch.count; ++c) column_counts[c] = 0;
    return;
  }
  const DeviceOffsets point_offsets(batch.point_offsets, batch.count + 1);
  const DeviceOffsets matrix_offsets(batch.matrix_offsets, batch.count + 1);
  const DeviceOffsets edge_offsets(batch.edge_offsets, batch.count + 1);
  const DeviceArray<float> device_thresholds(thresholds, batch.count);
  const int64_t largest = largest_cloud(batch);
  const int64_t largest_edges = largest * (largest - 1) / 2;
  const unsigned clouds = static_cast<unsigned>(batch.count);

  ScratchBuffer in_forest(static_cast<size_t>(total_edges));
  TL_CUDA_CHECK(cudaMemset(in_forest.data(), 0, static_cast<size_t>(total_edges)));
  mark_forest_kernel<<<dim3(grid_size(largest), clouds), kBlockSize>>>(
      forest, forest_counts, point_offsets.get(), edge_offsets.get(), static_cast<uint8_t*>(in_forest.data()));
  TL_CUDA_CHECK_LAUNCH();

  ScratchBuffer keys(static_cast<size_t>(total_edges) * sizeof(uint64_t));
  ScratchBuffer sorted(static_cast<size_t>(total_edges) * sizeof(uint64_t));
  ScratchBuffer counts(static_cast<size_t>(batch.count) * sizeof(unsigned long long));
  auto* device_counts = static_cast<unsigned long long*>(counts.data());
  TL_CUDA_CHECK(cudaMemset(device_counts, 0, static_cast<size_t>(batch.count) * sizeof(unsigned long long)));
  column_key_kernel<<<dim3(grid_size(largest_edges), clouds), kBlockSize>>>(
      dist, point_offsets.get(), matrix_offsets.get(), edge_offsets.get(), device_thresholds.get(),
      static_cast<const uint8_t*>(in_forest.data()), static_cast<uint64_t*>(keys.data()), device_counts);
  TL_CUDA_CHECK_LAUNCH();

  auto* keys_in = static_cast<const uint64_t*>(keys.data());
  auto* keys_out = static_cast<uint64_t*>(sorted.data());
  size_t scratch_bytes = 0;
  TL_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeys(nullptr, scratch_bytes, keys_in, keys_out,
                                                        static_cast<int>(total_edges), clouds, edge_offsets.get(),
                                                        edge_offsets.get() + 1));
  ScratchBuffer scratch(scratch_bytes);
  TL_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeys(scratch.data(), scratch_bytes, keys_in, keys_out,
                                                        static_cast<int>(total_edges), clouds, edge_offsets.get(),
                                                        edge_offsets.get() + 1));

  h1_column_kernel<<<dim3(grid_size(largest_edges * 32), clouds), kBlockSize>>>(
      dist, point_offsets.get(), matrix_offsets.get(), edge_offsets.get(), keys_out, device_counts, columns);
  TL_CUDA_CHECK_LAUNCH();
  std::vector<unsigned long long> host_counts(static_cast<size_t>(batch.count));
  TL_CUDA_CHECK(cudaMemcpy(host_counts.data(), device_counts, host_counts.size() * sizeof(unsigned long long),
                           cudaMemcpyDeviceToHost));
  for (int64_t c = 0; c < batch.count; ++c) column_counts[c] = static_cast<int64_t>(host_counts[c]);
}

void scatter_edge_gradients(const float* points, int64_t total_points, int64_t dim, const int64_t* offsets,
                            const IncidentEdge* incidence, float* grad) {
  const DeviceOffsets device_offsets(offsets, total_points + 1);
  const DeviceArray<IncidentEdge> device_incidence(incidence, offsets[total_points]);
  scatter_edge_gradients_kernel<<<grid_size(total_points * dim), kBlockSize>>>(
      points, total_points, dim, device_offsets.get(), device_incidence.get(), grad);
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
