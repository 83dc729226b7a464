"""The reports room: what a student may see, and every output (HTML, terminal, JUnit, ...)."""
