"""Loaders: one module per kind of data source, each a `scorecard.source.Loader`. The list of loaders
lives in `scorecard.source.loaders()`."""
