"""The spec room: the exercise language (YAML to frozen dataclasses) and the catalogues."""
