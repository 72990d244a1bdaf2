"""scorecard: customer relationship health scorecards (net gains versus losses of customers)."""

__version__ = "0.1.0"
