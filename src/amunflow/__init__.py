"""amunflow: the library behind the AMUN unlearning Snakemake workflow.

All logic lives here (data, splits, models, training, artifacts); the Snakemake
scripts under ``workflow/scripts`` only read their inputs and call into it.
"""

__version__ = "0.1.0"


class UserError(Exception):
    """A mistake in the configuration, data or artifacts that the user can fix.

    The message is one sentence naming the key or file and the fix.
    """
