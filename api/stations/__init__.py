"""Service stations (服务站点): import from files (`importing`), the cached walking network of
the database (`network`), 5/10/15-minute circles (`circles`, `isochrone_files` for file mode)
and coverage with site suggestions (`coverage`)."""
