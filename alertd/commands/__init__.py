"""One module per CLI command: each builds what it needs and returns an exit code."""
