// The processes of one data-parallel training run. `mpirun -np K tl_train config.json` starts K processes; each
// finds its rank here and holds rows [rank * B / K, (rank + 1) * B / K) of every batch of B rows. CPU tensors are
// exchanged over MPI; CUDA tensors over NCCL (one process per GPU, the communicator's id sent over MPI). A process
// started without a launcher is a group of one and never touches MPI. apps/trainer/data_parallel.h builds the
// trainer's collectives (gathered rows, averaged gradients) on all_gather.
#pragma once

#include <cstdint>
#include <memory>

#include "core/tensor.h"

namespace tl::train {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The processes of this group on this process's machine.
  virtual int local_size() const = 0;
  // `count` floats from every process, in rank order, into `recv` (size() * count floats); send and recv are in
  // `device`'s memory. Every process must call it with the same count.
  virtual void all_gather(const float* send, int64_t count, float* recv, Device device) = 0;
  // The same for host doubles.
  virtual void all_gather_host(const double* send, int64_t count, double* recv) = 0;
  // Chooses this process's GPU (its rank on its machine, modulo the GPUs) before any CUDA memory is allocated.
  virtual void select_cuda_device() = 0;
  // Ends every process of the run after an error on this one: a process that exits alone leaves the others
  // waiting in their next collective.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Wall time spent inside the collectives so far (waiting for the other processes included), in seconds.
  double communication_seconds() const { return communication_seconds_; }

 protected:
  double communication_seconds_ = 0.0;
};

// The group of this process, started on first use: MPI when a launcher (mpirun / srun with PMIx) started it, else a
// group of one. Refuses (Error) a launched process in a build without MPI, naming what to install.
ProcessGroup& process_group();

// Ends MPI, if this process started it, when main() returns (an exit without it is an error under mpirun).
class ProcessGroupScope {
 public:
  ProcessGroupScope() = default;
  ~ProcessGroupScope();
  ProcessGroupScope(const ProcessGroupScope&) = delete;
  ProcessGroupScope& operator=(const ProcessGroupScope&) = delete;
};

}  // namespace tl::train
