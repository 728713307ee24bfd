"""Folium map builders."""
