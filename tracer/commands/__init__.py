"""CLI command groups, one module each (see `tracer.cli.COMMAND_MODULES`)."""
