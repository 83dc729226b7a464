"""Small helpers every room may use: atomic writes, the shipped data files, safe text."""
