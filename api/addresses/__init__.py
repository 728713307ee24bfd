"""Chinese addresses against an address base: the database's cached index, geocoding and
reverse geocoding (`geocode`), and file mode (`files`)."""
