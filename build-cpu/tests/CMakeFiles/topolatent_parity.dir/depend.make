# Empty dependencies file for topolatent_parity.
# This may be replaced when dependencies are built.
