# Empty dependencies file for topolatent_tests.
# This may be replaced when dependencies are built.
