// Host-side construction of BroadcastIndexer: right-aligns the operand shapes, zeroes broadcast strides and
// merges dimensions that are contiguous in the output and both operands.
#include "core/base/error.h"
#include "kernels/backend.h"

namespace tl::kernels {
namespace {

// Contiguous strides of `shape` right-aligned to `rank` dims, with 0 where the operand is broadcast.
std::vector<int64_t> broadcast_strides(const Shape& out, const Shape& operand) {
  const size_t rank = out.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t i = 0; i < operand.size(); ++i) {
    const size_t src = operand.size() - 1 - i;
    const size_t dst = rank - 1 - i;
    strides[dst] = (operand[src] == 1 && out[dst] != 1) ? 0 : stride;
    stride *= operand[src];
  }
  return strides;
}

}  // namespace

BroadcastIndexer make_broadcast_indexer(const Shape& out, const Shape& a, const Shape& b) {
  const std::vector<int64_t> sa = broadcast_strides(out, a);
  const std::vector<int64_t> sb = broadcast_strides(out, b);
  std::vector<int64_t> dims, merged_a, merged_b;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;  // size-1 output dims contribute nothing to any offset
    const bool mergeable = !dims.empty() && merged_a.back() == sa[d] * out[d] && merged_b.back() == sb[d] * out[d];
    if (mergeable) {
      dims.back() *= out[d];
      merged_a.back() = sa[d];
      merged_b.back() = sb[d];
    } else {
      dims.push_back(out[d]);
      merged_a.push_back(sa[d]);
      merged_b.push_back(sb[d]);
    }
  }
  if (dims.empty()) {  // a single element
    dims = {1};
    merged_a = {0};
    merged_b = {0};
  }
  TL_CHECK_AS(ShapeError, dims.size() <= static_cast<size_t>(kMaxRank), "broadcasting ", shape_str(a), " with ",
              shape_str(b), " needs ", dims.size(), " dimensions after merging; at most ", kMaxRank, " are supported");
  BroadcastIndexer ix;
  ix.rank = static_cast<int>(dims.size());
  ix.numel = shape_numel(out);
  for (int d = 0; d < ix.rank; ++d) {
    ix.dims[d] = dims[d];
    ix.a_strides[d] = merged_a[d];
    ix.b_strides[d] = merged_b[d];
  }
  return ix;
}

}  // namespace tl::kernels
