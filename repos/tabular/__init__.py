"""Reading tabular data files for the dataset viewer (pure)."""
