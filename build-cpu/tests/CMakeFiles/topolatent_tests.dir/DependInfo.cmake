
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/main.cpp" "tests/CMakeFiles/topolatent_tests.dir/main.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/main.cpp.o.d"
  "/work/main/tests/test_autograd.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_autograd.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_autograd.cpp.o.d"
  "/work/main/tests/test_gemm.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_gemm.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_gemm.cpp.o.d"
  "/work/main/tests/test_gradcheck.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_gradcheck.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_gradcheck.cpp.o.d"
  "/work/main/tests/test_ops_golden.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_ops_golden.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_ops_golden.cpp.o.d"
  "/work/main/tests/test_philox.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_philox.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_philox.cpp.o.d"
  "/work/main/tests/test_tensor.cpp" "tests/CMakeFiles/topolatent_tests.dir/test_tensor.cpp.o" "gcc" "tests/CMakeFiles/topolatent_tests.dir/test_tensor.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-cpu/tests/CMakeFiles/topolatent_test_support.dir/DependInfo.cmake"
  "/work/main/build-cpu/CMakeFiles/topolatent.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
