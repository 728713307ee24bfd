"""Links that open a phone's map app at a case: Amap (高德) takes GCJ-02, Baidu (百度) BD-09;
the case is stored in WGS-84."""

from __future__ import annotations

from urllib.parse import urlencode

from geo.coords import convert

SOURCE = "wangge"


def links(lon: float, lat: float, *, name: str) -> dict:
    """The point in each datum and the Amap / Baidu marker links for a WGS-84 `lon`, `lat`."""
    g_lon, g_lat = convert(lon, lat, src="wgs84", dst="gcj02")
    b_lon, b_lat = convert(lon, lat, src="wgs84", dst="bd09")
    gcj, bd = f"{g_lon:.6f},{g_lat:.6f}", f"{b_lat:.6f},{b_lon:.6f}"
    amap = {"position": gcj, "name": name, "src": SOURCE, "coordinate": "gaode", "callnative": 1}
    baidu = {"location": bd, "title": name, "content": name, "coord_type": "bd09ll", "src": SOURCE}
    return {
        "wgs84": [lon, lat],
        "gcj02": [round(g_lon, 6), round(g_lat, 6)],
        "bd09": [round(b_lon, 6), round(b_lat, 6)],
        "amap": "https://uri.amap.com/marker?" + urlencode(amap),
        "baidu": "https://api.map.baidu.com/marker?" + urlencode({**baidu, "output": "html"}),
        "baidu_app": "baidumap://map/marker?" + urlencode(baidu),
    }
