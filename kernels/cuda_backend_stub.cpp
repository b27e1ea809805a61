// CPU-only builds: the CUDA backend does not exist. No CUDA tensor can be created in such a build
// (core/base/cuda_runtime_stub.cpp refuses the allocation), so reaching this is an internal error.
#include "core/base/error.h"
#include "kernels/backend.h"
#include "kernels/topology_backend.h"

namespace tl::kernels {

const Backend& cuda_backend() {
  TL_FAIL(DeviceError, "the CUDA backend is not part of this build (configure with -DTOPOLATENT_CUDA=ON)");
}

const TopologyBackend& cuda_topology_backend() {
  TL_FAIL(DeviceError, "the CUDA persistence kernels are not part of this build (configure with -DTOPOLATENT_CUDA=ON)");
}

}  // namespace tl::kernels
