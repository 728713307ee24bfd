"""Offline geocoding of Chinese addresses against a standard address base (no database)."""

from geo.geocode.index import AddressIndex, build_index
from geo.geocode.match import OUT_LEVELS, Candidate, Match, geocode, geocode_many

__all__ = [
    "OUT_LEVELS",
    "AddressIndex",
    "Candidate",
    "Match",
    "build_index",
    "geocode",
    "geocode_many",
]
