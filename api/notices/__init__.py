"""District notices: an area resolved to grids (`area`), the fan-out down the grid tree to every
responsible person with their outbox messages (`fanout`, `send`), what each person sees and
acknowledges (`inbox`), and the households reached per grid (`progress`)."""

from api.notices.area import Area
from api.notices.inbox import acknowledge, notices_for
from api.notices.progress import progress
from api.notices.send import send_notice

__all__ = ["Area", "acknowledge", "notices_for", "progress", "send_notice"]
