file(REMOVE_RECURSE
  "CMakeFiles/topolatent_test_support.dir/op_cases.cpp.o"
  "CMakeFiles/topolatent_test_support.dir/op_cases.cpp.o.d"
  "CMakeFiles/topolatent_test_support.dir/test_support.cpp.o"
  "CMakeFiles/topolatent_test_support.dir/test_support.cpp.o.d"
  "libtopolatent_test_support.a"
  "libtopolatent_test_support.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/topolatent_test_support.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
