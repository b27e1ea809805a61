file(REMOVE_RECURSE
  "libtopolatent_test_support.a"
)
