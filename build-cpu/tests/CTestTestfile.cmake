# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build-cpu/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build-cpu/tests/topolatent_tests_include-b858cb2.cmake")
include("/work/main/build-cpu/tests/topolatent_parity_include-b858cb2.cmake")
