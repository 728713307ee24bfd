"""Chinese addresses, offline: normalisation and parsing into labelled components."""

from geo.address.normalize import Normalized, normalize
from geo.address.parse import LABELS, Component, parse, resolve_divisions

__all__ = ["LABELS", "Component", "Normalized", "normalize", "parse", "resolve_divisions"]
