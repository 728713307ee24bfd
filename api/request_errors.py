"""Chinese text for the framework's request checks (pydantic error types), so a 422 reads in
the page's language: each error's `msg` in Chinese, the framework's English in `msg_en`."""

from __future__ import annotations

from typing import Any

# pydantic error type → Chinese, formatted with the error's ctx
ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的字段",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "json_invalid": "JSON 格式不对",
    "json_type": "应为 JSON",
    "datetime_type": "应为日期时间，如 2026-12-04T08:30:00+08:00",
    "datetime_parsing": "应为日期时间，如 2026-12-04T08:30:00+08:00",
    "datetime_from_date_parsing": "应为日期时间，如 2026-12-04T08:30:00+08:00",
    "date_type": "应为日期，如 2026-12-04",
    "date_parsing": "应为日期，如 2026-12-04",
    "date_from_datetime_parsing": "应为日期，如 2026-12-04",
    "uuid_parsing": "应为 UUID",
    "bytes_type": "应为字节串",
}
OWN_MESSAGE = ("value_error", "assertion_error")  # our validators' own text (Chinese first)
PLACES = ("body", "query", "path", "header", "cookie")


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if str(p) not in PLACES]
    return ".".join(parts)


def chinese(error: dict) -> str:
    """The error's message in Chinese, naming the field: `building_ids：至少 1 项`."""
    kind = error.get("type", "")
    english = str(error.get("msg", ""))
    if kind in OWN_MESSAGE:
        text = english.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    elif kind in ZH:
        try:
            ctx = {
                k: int(v) if isinstance(v, float) and v.is_integer() else v
                for k, v in (error.get("ctx") or {}).items()
            }
            text = ZH[kind].format(**ctx)
        except (KeyError, IndexError, ValueError):
            text = ZH[kind].split("{")[0].rstrip("：: ") or "输入无效"
    else:
        text = f"输入无效（{english}）"
    field = _field(error.get("loc"))
    return f"{field}：{text}" if field else text
