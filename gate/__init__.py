"""docketqa-gate: a CI gate on DocketQA browser test runs."""

__version__ = "1.0.0"
#: The command name, as every message and --help shows it.
PROG = "docketqa-gate"
