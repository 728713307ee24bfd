"""Folium map builders for the three pages: planner, grid worker, public. They draw the data
passed in (GeoDataFrames in EPSG:4326) and never read the database."""

from maps.planner import build_planner_map
from maps.public import build_public_map
from maps.worker import build_worker_map

__all__ = ["build_planner_map", "build_public_map", "build_worker_map"]
