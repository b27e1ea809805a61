file(REMOVE_RECURSE
  "CMakeFiles/topolatent_parity.dir/parity_main.cpp.o"
  "CMakeFiles/topolatent_parity.dir/parity_main.cpp.o.d"
  "CMakeFiles/topolatent_parity.dir/test_parity.cpp.o"
  "CMakeFiles/topolatent_parity.dir/test_parity.cpp.o.d"
  "topolatent_parity"
  "topolatent_parity.pdb"
  "topolatent_parity_tests-b858cb2.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/topolatent_parity.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
