file(REMOVE_RECURSE
  "CMakeFiles/topolatent_tests.dir/main.cpp.o"
  "CMakeFiles/topolatent_tests.dir/main.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_autograd.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_autograd.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_gemm.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_gemm.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_gradcheck.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_gradcheck.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_ops_golden.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_ops_golden.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_philox.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_philox.cpp.o.d"
  "CMakeFiles/topolatent_tests.dir/test_tensor.cpp.o"
  "CMakeFiles/topolatent_tests.dir/test_tensor.cpp.o.d"
  "topolatent_tests"
  "topolatent_tests.pdb"
  "topolatent_tests_tests-b858cb2.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/topolatent_tests.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
