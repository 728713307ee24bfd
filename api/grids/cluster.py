"""Where areas are divided: the shared Dask pool of bulk jobs (:mod:`api.bulk.pool`)."""

from api.bulk.pool import Later, Pool, open_pool

__all__ = ["Later", "Pool", "open_pool"]
