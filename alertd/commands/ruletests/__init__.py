"""`alertd test`: unit tests for rules, in YAML beside them, run on an in-process emulator."""
