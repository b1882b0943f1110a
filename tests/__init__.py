"""Unit and property tests of advlib (a package, so that test modules of one name can live
in two folders, e.g. test_contracts.py here and in attacks/)."""
