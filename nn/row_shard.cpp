// Row-sharded random draws: the whole batch's draw, sliced to this process's rows.
#include "nn/row_shard.h"

#include "core/ops.h"

namespace tl::nn {
namespace {

template <class Draw>
Tensor sharded_draw(const RowShard& shard, const Shape& shape, Device device, Draw draw) {
  if (!shard.split()) return draw(shape, device);
  TL_CHECK_AS(ShapeError, !shape.empty() && shard.first >= 0 && shard.first + shape[0] <= shard.total,
              "a sharded draw of rows [", shard.first, ", ", shard.first + (shape.empty() ? 0 : shape[0]),
              ") does not fit the batch's ", shard.total, " rows");
  Shape whole = shape;
  whole[0] = shard.total;
  return slice(draw(whole, device), 0, shard.first, shard.first + shape[0]);
}

}  // namespace

Tensor RowShard::normal(const Shape& shape, Generator& generator, Device device) const {
  return sharded_draw(*this, shape, device,
                      [&](const Shape& s, Device d) { return Tensor::normal(s, generator, 0.0f, 1.0f, d); });
}

Tensor RowShard::uniform(const Shape& shape, Generator& generator, Device device) const {
  return sharded_draw(*this, shape, device,
                      [&](const Shape& s, Device d) { return Tensor::uniform(s, generator, 0.0f, 1.0f, d); });
}

}  // namespace tl::nn
