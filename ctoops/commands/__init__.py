"""One module per command group: parse options, call the core, render. Nothing else."""
