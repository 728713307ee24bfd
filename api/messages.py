"""User-facing text, Chinese first, kept in one place for translation."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "网格 · 社区网格化治理",
        "loaded": "已载入的数据",
        "maps": "地图",
        "planner": "网格规划（规划人员）",
        "worker": "网格员工作台",
        "public": "邻里中心地图（公众）",
        "report": "我要反映问题（居民）",
        "order": "我要点单：社区服务（居民）",
        "volunteer": "志愿者接单（手机）",
        "notices": "区域通知（街道办）",
        "points": "我的积分（居民、志愿者）",
        "points/community": "社区积分管理（活动、兑换、排行）",
        "assessment": "网格员月度考核（街道、社区）",
        "districts": "区县",
        "streets": "街道",
        "communities": "社区",
        "compounds": "小区",
        "buildings": "楼栋",
        "households": "户数",
        "roads": "道路",
        "pois": "兴趣点",
        "stations": "服务站点",
        "workers": "网格员",
        "cases": "事件",
        "grids": "网格",
        "micro_grids": "微网格",
        "api_docs": "接口文档",
        "health": "运行状态",
        "demo_accounts": "演示账号（每个角色一个，用户名即角色，密码见 README 的 Demo accounts；"
        "仅供本地演示）",
    },
    "en": {
        "title": "Wangge · community grid governance",
        "loaded": "Loaded data",
        "maps": "Maps",
        "planner": "Grid planner",
        "worker": "Grid worker view",
        "public": "Neighborhood-center map",
        "report": "Report a problem (residents)",
        "order": "Order a community service (residents)",
        "volunteer": "Volunteer orders (phone)",
        "notices": "District notices (street office)",
        "points": "My red points (residents, volunteers)",
        "points/community": "Community red points (activities, exchanges, ranking)",
        "assessment": "Grid workers' monthly assessment (street office, community)",
        "districts": "Districts",
        "streets": "Street offices",
        "communities": "Communities",
        "compounds": "Compounds",
        "buildings": "Buildings",
        "households": "Households",
        "roads": "Roads",
        "pois": "Points of interest",
        "stations": "Service stations",
        "workers": "Grid workers",
        "cases": "Cases",
        "grids": "Grids",
        "micro_grids": "Micro-grids",
        "api_docs": "API documentation",
        "health": "Health",
        "demo_accounts": "Demo accounts (one per role, named after it; password: README, "
        "Demo accounts; for a local demo only)",
    },
}


def t(key: str, lang: str = "zh") -> str:
    """The text for `key` in `lang` (falls back to Chinese, then to the key)."""
    return TEXT.get(lang, TEXT["zh"]).get(key) or TEXT["zh"].get(key, key)
