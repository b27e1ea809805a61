file(REMOVE_RECURSE
  "libtopolatent.a"
)
