"""The grid editor's messages, Chinese first and English second, from one catalog.

Each entry is a pair of templates with named parameters. Problems carry both texts
(``message`` in Chinese, ``message_en`` in English); refusals raised as InputError read
"中文 (English)". Grids are named as people name them (瑞祥社区第3网格, 第3网格第2微网格); the code
goes in the details.
"""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str]] = {
    # problems found by validate_layer
    "empty_geometry": ("{name}的范围为空", "{name_en} has an empty geometry"),
    "not_polygon": ("{name}是{kind}，不是多边形", "{name_en} is a {kind}, not a polygon"),
    "invalid_geometry": (
        "{name}的多边形无效：{reason}",
        "{name_en} has an invalid geometry: {reason}",
    ),
    "parts": (
        "{name}分成了 {n} 块：最大的 {largest} 平方米，其余 {others} 平方米",
        "{name_en} is in {n} separate parts: the largest {largest} m², the others {others} m²",
    ),
    "stray_parts": (
        "{name}除主体外还有 {n} 块零碎小块，共 {area} 平方米（小于 {limit} 平方米）",
        "{name_en} has {n} tiny stray part(s) of {area} m² in all (below {limit} m²) besides "
        "its main polygon",
    ),
    "overlap": (
        "{name}与{other}重叠 {area} 平方米",
        "{name_en} and {other_en} overlap by {area} m²",
    ),
    "building_in_two_grids": (
        "楼栋{building}（{households} 户）的位置点同时落在{name}和{other}内",
        "building {building_en} ({households} households) has its point inside both {name_en} and "
        "{other_en}",
    ),
    "building_left_out": (
        "楼栋{building}（{households} 户{estimated}）不在任何{word}内",
        "building {building_en} ({households} households{estimated_en}) is in no {word_en}",
    ),
    "under": (
        "{name}有 {households} 户（{buildings} 栋楼{estimated}），少于下限 {lo} 户",
        "{name_en} has {households} households ({buildings} buildings{estimated_en}), fewer "
        "than the minimum {lo}",
    ),
    "over": (
        "{name}有 {households} 户（{buildings} 栋楼{estimated}），超过上限 {hi} 户",
        "{name_en} has {households} households ({buildings} buildings{estimated_en}), more "
        "than the maximum {hi}",
    ),
    "households_stale": (
        "{name}记录为 {recorded} 户，但其中楼栋共 {households} 户；请重新统计",
        "{name_en} records {recorded} households but the buildings inside it hold "
        "{households}; run recount",
    ),
    "outside_boundary": (
        "{name}超出社区边界 {area} 平方米",
        "{name_en} reaches {area} m² beyond the boundary",
    ),
    "gap": (
        "{where}有 {area} 平方米不属于任何{word}{near}",
        "{area} m² of boundary polygon {where_en} is in no {word_en}{near_en}",
    ),
    "no_micro": ("{name}没有微网格", "{name_en} has no micro-grids"),
    "micro_gap": (
        "{name}有 {area} 平方米不属于它的任何微网格{near}",
        "{area} m² of {name_en} is in none of its micro-grids{near_en}",
    ),
    "no_parent": ("{name}没有上级网格编码", "{name_en} has no parent_code"),
    "unknown_parent": (
        "{name}的上级网格 {parent} 不在图层中",
        "{name_en} names parent {parent}, not in the layer",
    ),
    "micro_outside": (
        "{name}超出上级网格{parent_name} {area} 平方米",
        "{name_en} reaches {area} m² outside its parent grid {parent}",
    ),
    "micro_sum": (
        "{name}的微网格合计 {total} 户，网格为 {households} 户",
        "the micro-grids of {name_en} hold {total} households, the grid {households}",
    ),
    "no_code": ("{name}：没有编码", "{name_en}: no code"),
    "code_digits": (
        "{name}：编码 {code} 不是 {digits} 位数字",
        "{name_en}: code {code!r} is not {digits} digits",
    ),
    "code_parent": (
        "{name}：编码 {code} 不以上级编码 {parent} 开头",
        "{name_en}: code {code} does not start with its parent's code {parent}",
    ),
    "code_no_parent": (
        "{name}：无上级网格的微网格编码第 13–15 位应为 {no_parent}",
        "{name_en}: code {code}: micro-grids without grids have {no_parent} in digits 13–15",
    ),
    "code_area": (
        "{name}：编码 {code} 不以所在社区编码 {expected} 开头",
        "{name_en}: code {code} does not start with {expected}, the code of the area it lies in",
    ),
    "code_duplicate": ("编码 {code} 被 {n} 个网格使用", "code {code} is used by {n} rows"),
    # edits refused
    "move_cuts_grid": (
        "移入楼栋{buildings}会把{grid}分成互不相连的两块（被隔开的楼栋：{others}）；"
        "请连同这些楼栋一起移动，或改选靠近边界的楼栋。网格编码 {code}",
        "moving building(s) {buildings_en} would cut grid {code} in two (cut off: {others_en}); "
        "move those buildings with them or choose buildings nearer the edge",
    ),
    "not_adjacent": (
        "楼栋{buildings}所在的地块与{grid}不相邻，只能移入相邻的网格。网格编码 {code}",
        "not adjacent: the land of building(s) {buildings_en} does not touch {name_en}",
    ),
    "move_across_areas": (
        "楼栋{buildings}与目标网格不在同一社区，不能跨社区移动",
        "buildings {buildings_en} are in another community than the target grid",
    ),
    "no_buildings": ("没有要移动的楼栋", "no buildings to move"),
    "unknown_buildings": (
        "有 {n} 个楼栋编号不存在：{listed}",
        "{n} building ids are not in the buildings: {listed}",
    ),
    "building_in_no_grid": (
        "楼栋{building}不在任何{word}内；请先画出覆盖它的网格",
        "building {building_en} is in no {word_en}; draw a grid over it first",
    ),
    "micro_between_grids": (
        "微网格之间的移动只能在同一网格内：{strays} 不属于{grid}；请先在网格层级移动楼栋",
        "micro-grid moves stay inside one grid: {strays} are not in grid {parent}; move the "
        "buildings at grid level first",
    ),
    "outside_area": (
        "楼栋{buildings}在社区边界之外",
        "buildings {buildings_en} lie outside the boundary",
    ),
    "unknown_code": (
        "图层中没有编码为 {code} 的网格（共 {n} 个）",
        "no grid with code {code!r} in the layer ({n} rows)",
    ),
    "duplicate_code": (
        "编码 {code} 被 {n} 个网格使用；请先修正重复编码",
        "code {code!r} is used by {n} rows; fix the duplicate first",
    ),
    "regenerate_level": (
        "此图层的层级须为 {allowed} 之一，收到 {level}",
        "level must be one of {allowed} for this layer, not {level}",
    ),
    "lock_micro_code": (
        "只能锁定网格：{code} 是网格 {parent} 的微网格",
        "lock grids, not micro-grids: {code} is a micro-grid of {parent}",
    ),
    "split_parts": (
        "拆分份数须为不小于 2 的整数，收到 {parts}",
        "parts must be an integer >= 2, got {parts}",
    ),
    "split_too_few": (
        "{grid}只有 {households} 户，不够拆成 {parts} 份",
        "{name_en} holds {households} households: too few to split into {parts}",
    ),
    "sequence_full": (
        "{prefix} 下已超过 999 个网格，编号已满",
        "more than 999 grids under {prefix}: the sequence is full",
    ),
    "merge_two": (
        "合并至少需要两个编码，收到 {codes}",
        "merge needs at least two codes, got {codes}",
    ),
    "merge_levels": (
        "网格和微网格不能合并在一起：{codes}",
        "cannot merge grids and micro-grids together: {codes}",
    ),
    "merge_parents": (
        "不同网格的微网格不能合并；请先合并网格",
        "micro-grids of different grids cannot be merged; merge the grids first",
    ),
    "merge_apart": (
        "{apart}与{first}没有共同边界，不能合并",
        "not adjacent: {apart_en} share no edge with {first_en}",
    ),
    "no_code_column": (
        "网格图层须有 code 列；现有列为 {columns}",
        "grids need a 'code' column; columns are {columns}",
    ),
    "bad_levels": (
        "层级须为 grid 或 micro，收到 {levels}",
        "level must be 'grid' or 'micro', got {levels}",
    ),
    "buildings_no_geometry": (
        "有 {n} 栋楼没有几何形状（第一栋：{first}）",
        "{n} buildings have no geometry (first: {first})",
    ),
    "boundary_empty": ("边界没有多边形", "the boundary has no polygons"),
    "boundary_kinds": (
        "边界须为多边形，收到 {kinds}",
        "the boundary must be polygons, got {kinds}",
    ),
    "bad_bounds": (
        "{level} 户数范围须满足 0 < 下限 <= 上限，收到 {lo}–{hi}",
        "{level} bounds must satisfy 0 < min <= max, got {lo}–{hi}",
    ),
    "bad_tolerance": ("容差须大于 0，收到 {tolerance}", "tolerance_m must be > 0, got {tolerance}"),
    # refused by the service (api.grids.edits)
    "no_polygon": (
        "社区 {community} 没有边界多边形；请先载入社区边界",
        "community {community} has no polygon stored; load its boundary first",
    ),
    "stale_version": (
        "社区 {community} 的网格图层已是第 {version} 版，不是第 {base} 版：其间有人保存过；"
        "请重新载入后再编辑",
        "the layer of community {community} is at version {version}, not {base}: someone "
        "saved it meanwhile; reload it and redo the edit",
    ),
    "no_layer": (
        "社区 {community} 还没有网格；请先生成或提交图层",
        "community {community} has no grids yet; generate or send a layer first",
    ),
    "locked_changed": (
        "{name}{why}，但本次编辑{change}；请先解锁 {lock}",
        "{name_en} {why_en} but {change_en}; unlock {lock} first",
    ),
    "locked_refused": (
        "有 {n} 个锁定的网格会被改变，未保存：{listed}",
        "{n} locked grid(s) would change, nothing was saved: {listed}",
    ),
    "errors_refused": (
        "图层有 {n} 个错误，未保存：{listed}",
        "the layer has {n} error(s), nothing was saved: {listed}",
    ),
    "nothing_to_undo": (
        "无可撤销：社区 {community} 只有 {n} 个图层版本",
        "nothing to undo: community {community} has {n} layer version(s)",
    ),
    "feature_no_code": ("{feature}没有编码（code）", "{feature_en} has no code property"),
    "feature_foreign": (
        "{feature}：编码不以社区编码 {community} 开头",
        "{feature_en}: the code does not start with community code {community}",
    ),
    "feature_level": (
        "{feature}：层级须为 grid 或 micro，收到 {level}",
        "{feature_en}: level must be 'grid' or 'micro', got {level}",
    ),
    "feature_digits": (
        "{feature}：{level} 编码须为 {digits} 位数字",
        "{feature_en}: a {level} code is {digits} digits",
    ),
    "feature_parent": (
        "{feature}：parent_code 须为本社区的 15 位网格编码，收到 {parent}",
        "{feature_en}: parent_code must be a 15-digit grid code of community {community}, "
        "got {parent}",
    ),
    "feature_not_polygon": (
        "{feature}是 {kind}；网格须为 Polygon 或 MultiPolygon",
        "{feature_en} is a {kind}; grids must be Polygon or MultiPolygon",
    ),
    "feature_no_geometry": ("{feature}没有几何形状", "{feature_en} has no geometry"),
    "feature_geometry": ("{feature}：几何形状有误：{reason}", "{feature_en}: {reason}"),
    "lock_micro": (
        "只能锁定网格，不能单独锁定微网格：{listed}；微网格随其网格一起锁定",
        "lock grids, not micro-grids: {listed}; micro-grids are locked with their grid",
    ),
}

WORDS = {"grid": ("网格", "grid"), "micro": ("微网格", "micro-grid")}


def text(key: str, **params: object) -> tuple[str, str]:
    """The Chinese and English text of `key` with `params` filled in."""
    zh, en = CATALOG[key]
    return zh.format(**params), en.format(**params)


def refusal(key: str, **params: object) -> str:
    """An edit's refusal: "中文 (English)"."""
    zh, en = text(key, **params)
    return f"{zh} ({en})"


def grid_name(code: str | None, level: str, community: str | None = None) -> str:
    """第3网格 / 第3网格第2微网格, after the community's name when known; the row when no code."""
    if not code or not code.isdigit() or len(code) not in (15, 18):
        return f"{WORDS[level][0]}（{code or '无编码'}）"
    grid = int(code[12:15])
    name = f"第{grid}网格" if grid else ""
    if len(code) == 18:
        name += f"第{int(code[15:18])}微网格"
    return f"{short_community(community)}{name}"


def short_community(name: str | None) -> str:
    """The community as people name it with a grid: 大行宫社区居委会 → 大行宫社区."""
    name = name or ""
    for suffix in ("居民委员会", "居委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def english_name(code: str | None, level: str, row: int | None = None) -> str:
    """grid 990101001001003 / micro-grid …, as the English messages always said."""
    word = WORDS[level][1]
    return f"{word} {code or f'(row {(row or 0) + 1}, no code)'}"
