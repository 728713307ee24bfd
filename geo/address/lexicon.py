"""Word lists of the address parser: suffixes and function words of Chinese addresses.

Written for this project from general knowledge of Chinese address writing (GB/T 23705-2009
数字城市地理信息公共平台地名/地址编码规则 names the same elements: road, door number, building,
unit, floor, room). No list here was derived from any labelled corpus.
"""

from __future__ import annotations

#: Road suffixes, longest first (大道 before 道 is not needed: a lone 道 is no suffix).
ROAD_SUFFIXES = (
    "高速公路", "快速路", "大道", "大街", "公路", "国道", "省道", "县道", "胡同", "路", "街",
    "巷", "弄", "线",
)  # fmt: skip

#: Endings that make a word a compound, building or facility name (poi); the multi-character
#: ones are also where a run of two names is split (八五三农场|幸福小区).
POI_SUFFIXES = (
    "小区", "花园", "大厦", "广场", "公寓", "家园", "新村", "新城", "庄园", "山庄", "公馆",
    "大楼", "中心", "商城", "商场", "市场", "农场", "林场", "工业园区", "工业区", "工业园",
    "产业园区", "产业园", "科技园", "园区",
    "物流园", "创业园", "科技城", "商贸城", "大酒店", "酒店", "宾馆", "饭店", "超市", "医院",
    "卫生院", "学校", "中学", "小学", "大学", "学院", "幼儿园", "公司", "集团", "银行",
    "仓库", "车站", "加油站", "苑", "园", "城", "府", "邸", "湾", "居", "坊", "阁", "轩",
    "厂", "店", "馆", "院", "楼", "所", "站", "局",
)  # fmt: skip

#: Multi-character POI endings after which a second name may start (the split points).
POI_SPLIT_SUFFIXES = tuple(s for s in POI_SUFFIXES if len(s) >= 2 and s not in ("中心", "集团"))

#: Town-level endings (街道 street office, 镇 town, 乡 township).
TOWN_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "乡")

#: Community-level endings (社区 urban community, 村 village and their committees).
COMMUNITY_SUFFIXES = (
    "社区居民委员会",
    "社区居委会",
    "村民委员会",
    "村委会",
    "居委会",
    "社区",
    "村",
)

#: Development zones and similar areas under a city or district.
DEVZONE_SUFFIXES = (
    "经济技术开发区", "高新技术产业开发区", "高新技术开发区", "经济开发区", "技术开发区",
    "工业开发区", "开发区", "高新区", "保税区", "经济区",
)  # fmt: skip

#: Words that place the target relative to something else (旁边 next to, 对面 opposite …).
ASSIST_WORDS = (
    "斜对面", "正对面", "对面", "旁边", "隔壁", "附近", "门口", "交叉口", "交界处", "交汇处",
    "十字路口", "三叉路口", "丁字路口", "交汇口", "路口", "东侧", "西侧", "南侧", "北侧",
    "东边", "西边", "南边", "北边",
    "东面", "西面", "南面", "北面", "后面", "前面", "里面", "楼下", "楼上", "边上", "对过",
    "往东", "往西", "往南", "往北", "向东", "向西", "向南", "向北", "一带", "周边",
    "交界", "转角", "拐角", "之间", "中间", "背后", "对门", "里边", "内侧", "外侧", "往里走",
    "进去", "过去", "出口", "入口", "东北角", "西北角", "东南角", "西南角", "东北侧", "西北侧",
    "东南侧", "西南侧", "左手边", "右手边", "左转", "右转", "左侧", "右侧", "左边", "右边",
    "往前", "往后", "往左", "往右", "向前", "向后", "向左", "向右",
)  # fmt: skip

#: Single characters that are assist words only when standing alone (end of a name run).
ASSIST_CHARS = ("旁", "内", "边")

#: Conjunctions between two roads (X路与Y路交叉口).
ROAD_CONJUNCTIONS = ("与", "和", "跟", "交")

#: Words that carry no location: delivery notes and fillers.
REDUNDANT_WORDS = (
    "请电话联系", "电话联系", "请电联", "电联", "联系电话", "打电话", "送货上门", "代收", "转交",
    "收件人", "收货人", "收件", "收货", "详细地址", "地址", "NULL",
    "市辖区", "其它区", "其他区",
)  # fmt: skip

#: Country names written at the start of an address.
COUNTRY_WORDS = ("中华人民共和国", "中国")

#: Notes about delivery times and hand-over that say nothing of the place (otherinfo).
OTHERINFO_WORDS = (
    "工作日", "周末", "节假日", "上午", "下午", "中午", "晚上", "白天", "营业时间", "放门卫",
    "放前台", "放快递柜", "放驿站", "放物业",
)  # fmt: skip
