"""Error classes of the spatial core, in one place."""


class GeoError(Exception):
    """Base class for errors raised by geo/."""


class InputError(GeoError, ValueError):
    """Input that cannot be used: unreadable file, missing column, wrong type."""


class CRSMismatchError(GeoError, ValueError):
    """Frames in different coordinate reference systems were combined."""
