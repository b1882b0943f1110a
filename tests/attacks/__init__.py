"""Tests of advlib.attacks, one module per module of the package, and their contracts."""
