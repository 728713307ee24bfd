"""Loading files into PostGIS: buildings, roads, boundaries, stations and OpenStreetMap extracts
(`layers`), all or nothing."""
