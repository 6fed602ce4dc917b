"""Jobs: one function per Snakemake rule, called by the thin scripts in workflow/scripts. A job opens
its inputs through :mod:`amunflow.jobs.inputs` (which checks them against each other), calls the
library, and writes its outputs atomically with a record of what made them."""
