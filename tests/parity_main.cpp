// Entry point of the parity tests: runs them where a CUDA device is usable and otherwise exits with 77, which
// CTest reports as skipped (never as passed); a CUDA build whose module cannot be opened fails instead. Listing test
// cases works everywhere, for test discovery. Under mpirun (scripts/gpu_check.sh) the data-parallel cases run their
// collectives over NCCL; the process group is ended before exit, as mpirun requires.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "apps/trainer/process_group.h"
#include "core/base/memory.h"
#include "kernels/cuda_module.h"

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    listing = listing || std::strncmp(argv[i], "--list", 6) == 0 || std::strncmp(argv[i], "-ltc", 4) == 0;
  if (!listing && tl::cuda_runtime::device_count() == 0) {
    if (tl::cuda_runtime::compiled() && !tl::kernels::cuda_module_loaded()) {  // a broken build, not a missing GPU
      std::printf("FAILED: the CUDA module of this build cannot be used: %s\n",
                  tl::cuda_runtime::unavailable_reason().c_str());
      return 1;
    }
    std::printf("SKIPPED: CPU-vs-CUDA parity needs a GPU: %s\n", tl::cuda_runtime::unavailable_reason().c_str());
    return 77;
  }
  const tl::train::ProcessGroupScope mpi;
  if (!listing && tl::train::process_group().size() > 1) tl::train::process_group().select_cuda_device();
  doctest::Context context(argc, argv);
  return context.run();
}
