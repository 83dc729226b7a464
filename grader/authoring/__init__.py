"""The authoring room: tools for exercise authors (`grade validate`, `new`, `selftest`)."""
