"""Every scalar function of spec sections 10.4-10.12 is registered with its arity."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import FuncKind, FunctionError, registry

builtins.load()

SPEC_NAMES = {
    "10.4 math": "abs acos asin atan cos cosh sin sinh tan tanh cot exp ln sqrt radians degrees atan2 ceil "
    "ceiling floor round log mod power pow sign pi rand bitand bitor bitxor bitnot conv trunc",
    "10.5 string": "concat endswith startswith indexof length numbytes lower upper trim ltrim rtrim reverse "
    "lpad rpad substring split_value regexp_matches regexp_replace regexp_substr format format_time chr",
    "10.6 conversion": "cast encode decode compress decompress convert_tz to_seconds hex2dec dec2hex to_json "
    "parse_json",
    "10.7 hashing": "md5 sha1 sha256 sha384 sha512 crc32",
    "10.8 json path": "json_path_query json_path_query_first json_path_exists",
    "10.9 datetime": "now current_timestamp local_time local_timestamp cur_date current_date cur_time "
    "current_time format_time date_calc date_diff day_name day_of_month day day_of_week day_of_year from_days "
    "from_unix_time hour minute second microsecond month month_name last_day tstamp",
    "10.10 array": "cardinality array_cardinality array_create array_position array_last_position element_at "
    "array_contains array_contains_any array_remove array_intersect array_union array_except array_max "
    "array_min repeat sequence array_flatten array_distinct array_map array_join array_shuffle array_sort "
    "array_concat kvpair_array_to_obj",
    "10.11 object": "keys values object zip items object_concat object_construct erase object_pick object_size "
    "obj_to_kvpair_array",
    # event_time, window_start, window_end, meta, mqtt, unnest, extract, last_hit_* belong to the planner
    "10.12 other": "isnull coalesce newuuid tstamp rule_id rule_start props get_keyed_state delay bypass",
}
ALL = sorted({n for names in SPEC_NAMES.values() for n in names.split()})

# name: (min, max); None is unlimited
ARITY = {
    "abs": (1, 1),
    "atan2": (2, 2),
    "round": (1, 2),
    "log": (1, 2),
    "pi": (0, 0),
    "rand": (0, 0),
    "conv": (3, 3),
    "trunc": (2, 2),
    "concat": (1, None),
    "substring": (2, 3),
    "split_value": (3, 3),
    "regexp_replace": (3, 3),
    "format": (2, 3),
    "cast": (2, 2),
    "now": (0, 1),
    "cur_date": (0, 0),
    "format_time": (2, 2),
    "date_calc": (2, 2),
    "array_create": (0, None),
    "sequence": (2, 3),
    "array_join": (2, 3),
    "array_concat": (1, None),
    "object_concat": (2, None),
    "object_pick": (2, None),
    "coalesce": (1, None),
    "get_keyed_state": (3, 3),
    "delay": (2, 2),
    "newuuid": (0, 0),
    "md5": (1, 1),
    "json_path_query": (2, 2),
    "element_at": (2, 2),
    "isnull": (1, 1),
    "object_construct": (0, None),
}


@pytest.mark.parametrize("name", ALL)
def test_registered_as_scalar(name):
    fdef = registry.get(name)
    assert fdef is not None, f"{name} is not registered"
    assert fdef.kind is FuncKind.SCALAR
    assert registry.get(name.upper()) is fdef  # names are case-insensitive


@pytest.mark.parametrize("name", ALL)
def test_arity_rejects_wrong_counts(name):
    fdef = registry.get(name)
    fdef.check_arity(fdef.min_args)
    if fdef.min_args > 0:
        with pytest.raises(FunctionError, match="arguments but found"):
            fdef.check_arity(fdef.min_args - 1)
    if fdef.max_args is not None:
        with pytest.raises(FunctionError, match="arguments but found"):
            fdef.check_arity(fdef.max_args + 1)


@pytest.mark.parametrize(("name", "arity"), sorted(ARITY.items()))
def test_arity(name, arity):
    fdef = registry.get(name)
    assert (fdef.min_args, fdef.max_args) == arity


def test_arity_message():
    with pytest.raises(FunctionError, match=r"^Expect 2 arguments but found 1\.$"):
        registry.get("cast").check_arity(1)


def test_aliases_share_one_definition():
    for a, b in (
        ("ceil", "ceiling"),
        ("pow", "power"),
        ("now", "local_timestamp"),
        ("day", "day_of_month"),
        ("cur_time", "current_time"),
        ("cur_date", "current_date"),
    ):
        assert registry.get(a) is registry.get(b)


def test_load_is_idempotent():
    before = registry.names()
    builtins.load()
    assert registry.names() == before
