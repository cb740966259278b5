"""docketqa-gate: a CI gate on DocketQA browser test runs."""

__version__ = "1.0.0"
