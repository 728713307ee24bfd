"""Wangge: GIS service for community grid governance."""
