"""Bulk jobs in this process or on Dask: the pool that grid generation, batch geocoding and
case import share (``--workers N``, ``--scheduler ADDRESS``), and ordered streaming over
partitions."""
