// The CUDA module's NCCL collectives (kernels/cuda_module.h's CudaCollectives), built where NCCL is found.
#pragma once

#include "kernels/cuda_module.h"

namespace tl::kernels {

const CudaCollectives& nccl_collectives();

}  // namespace tl::kernels
