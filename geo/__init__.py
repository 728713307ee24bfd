"""Spatial core: pure functions over GeoDataFrames. No web or database imports."""
