"""The command line: one entry (main), a module per command group, shared options in common."""
