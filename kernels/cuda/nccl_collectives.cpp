// NCCL for data-parallel training on CUDA tensors: the device choice, the communicator's unique id and set-up, and
// the all-gather the trainer builds its collectives on. Every call runs on the legacy default stream, the stream of
// every other CUDA call in topolatent (core/base/cuda_check.h), and waits for its work before returning.
#include "kernels/cuda/nccl_collectives.h"

#include <nccl.h>

#include "core/base/cuda_check.h"

#define TL_NCCL_CHECK(call)                                                                                  \
  do {                                                                                                       \
    const ncclResult_t tl_status_ = (call);                                                                  \
    if (tl_status_ != ncclSuccess) TL_FAIL(DeviceError, #call, " failed: ", ncclGetErrorString(tl_status_)); \
  } while (0)

namespace tl::kernels {
namespace {

void select_device(int local_rank, int local_size) {
  int devices = 0;
  TL_CUDA_CHECK(cudaGetDeviceCount(&devices));
  TL_CHECK_AS(DeviceError, local_size <= devices,
              "data-parallel training on CUDA tensors runs one process per GPU: ", local_size,
              " processes on this machine, ", devices, " GPU(s) (start fewer processes per machine)");
  TL_CUDA_CHECK(cudaSetDevice(local_rank));
}

void make_unique_id(void* id) {
  TL_NCCL_CHECK(ncclGetUniqueId(static_cast<ncclUniqueId*>(id)));
}

void* connect(const void* id, int rank, int size) {
  ncclComm_t communicator = nullptr;
  TL_NCCL_CHECK(ncclCommInitRank(&communicator, size, *static_cast<const ncclUniqueId*>(id), rank));
  return communicator;
}

void all_gather(void* communicator, const float* send, int64_t count, float* recv) {
  TL_NCCL_CHECK(ncclAllGather(send, recv, static_cast<size_t>(count), ncclFloat, static_cast<ncclComm_t>(communicator),
                              cudaStreamLegacy));
  TL_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
}

void disconnect(void* communicator) {
  TL_NCCL_CHECK(ncclCommDestroy(static_cast<ncclComm_t>(communicator)));
}

}  // namespace

const CudaCollectives& nccl_collectives() {
  static const CudaCollectives table{
      static_cast<int>(sizeof(ncclUniqueId)), select_device, make_unique_id, connect, all_gather, disconnect};
  return table;
}

}  // namespace tl::kernels
