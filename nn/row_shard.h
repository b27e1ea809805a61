// Which rows of a batch this process holds when data-parallel training splits each batch across processes, and
// random draws that give every process exactly its rows of the draw one process would make for the whole batch:
// each process draws the whole batch's stream and keeps its rows, so K processes consume the same random numbers
// as one and a K-process run can equal a one-process run.
#pragma once

#include <cstdint>

#include "core/base/random.h"
#include "core/tensor.h"

namespace tl::nn {

struct RowShard {
  int64_t first = 0;  // this process's first row in the whole batch
  int64_t total = 0;  // the whole batch's rows; 0: the batch is not split (this process holds all of it)

  bool split() const { return total > 0; }
  // A standard normal draw of `shape` (shape[0]: this process's rows): its rows of the whole batch's draw.
  Tensor normal(const Shape& shape, Generator& generator, Device device) const;
  // The same for a uniform draw on [0, 1).
  Tensor uniform(const Shape& shape, Generator& generator, Device device) const;
};

}  // namespace tl::nn
