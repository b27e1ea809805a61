# Empty dependencies file for topolatent.
# This may be replaced when dependencies are built.
