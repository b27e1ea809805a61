# Empty dependencies file for topolatent_test_support.
# This may be replaced when dependencies are built.
