// Default AddressSanitizer options for the test executables (read by the ASan runtime at start-up; unused
// otherwise). The out-of-memory tests ask for 4 TiB on purpose: the sanitizer allocator must return null, as
// malloc does, so that the library's OutOfMemoryError path is what gets tested.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:detect_leaks=1";
}
