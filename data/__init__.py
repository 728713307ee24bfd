"""Demo datasets, catalogs and the synthetic city generator."""
