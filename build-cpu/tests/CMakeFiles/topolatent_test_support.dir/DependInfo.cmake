
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/op_cases.cpp" "tests/CMakeFiles/topolatent_test_support.dir/op_cases.cpp.o" "gcc" "tests/CMakeFiles/topolatent_test_support.dir/op_cases.cpp.o.d"
  "/work/main/tests/test_support.cpp" "tests/CMakeFiles/topolatent_test_support.dir/test_support.cpp.o" "gcc" "tests/CMakeFiles/topolatent_test_support.dir/test_support.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-cpu/CMakeFiles/topolatent.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
