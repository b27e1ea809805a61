
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/core/autograd.cpp" "CMakeFiles/topolatent.dir/core/autograd.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/autograd.cpp.o.d"
  "/work/main/core/cuda_runtime_stub.cpp" "CMakeFiles/topolatent.dir/core/cuda_runtime_stub.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/cuda_runtime_stub.cpp.o.d"
  "/work/main/core/error.cpp" "CMakeFiles/topolatent.dir/core/error.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/error.cpp.o.d"
  "/work/main/core/memory.cpp" "CMakeFiles/topolatent.dir/core/memory.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/memory.cpp.o.d"
  "/work/main/core/ops_elementwise.cpp" "CMakeFiles/topolatent.dir/core/ops_elementwise.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/ops_elementwise.cpp.o.d"
  "/work/main/core/ops_layout.cpp" "CMakeFiles/topolatent.dir/core/ops_layout.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/ops_layout.cpp.o.d"
  "/work/main/core/ops_reduce.cpp" "CMakeFiles/topolatent.dir/core/ops_reduce.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/ops_reduce.cpp.o.d"
  "/work/main/core/tensor.cpp" "CMakeFiles/topolatent.dir/core/tensor.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/tensor.cpp.o.d"
  "/work/main/core/types.cpp" "CMakeFiles/topolatent.dir/core/types.cpp.o" "gcc" "CMakeFiles/topolatent.dir/core/types.cpp.o.d"
  "/work/main/kernels/broadcast.cpp" "CMakeFiles/topolatent.dir/kernels/broadcast.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/broadcast.cpp.o.d"
  "/work/main/kernels/cpu/backend.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/backend.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/backend.cpp.o.d"
  "/work/main/kernels/cpu/elementwise.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/elementwise.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/elementwise.cpp.o.d"
  "/work/main/kernels/cpu/gemm.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/gemm.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/gemm.cpp.o.d"
  "/work/main/kernels/cpu/layout.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/layout.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/layout.cpp.o.d"
  "/work/main/kernels/cpu/random.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/random.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/random.cpp.o.d"
  "/work/main/kernels/cpu/reduce.cpp" "CMakeFiles/topolatent.dir/kernels/cpu/reduce.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cpu/reduce.cpp.o.d"
  "/work/main/kernels/cuda_backend_stub.cpp" "CMakeFiles/topolatent.dir/kernels/cuda_backend_stub.cpp.o" "gcc" "CMakeFiles/topolatent.dir/kernels/cuda_backend_stub.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
