"""Sink data templates: Go text/template semantics, sprig's functions, eKuiper's own."""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrokoth.io.templates import Template, TemplateError, compile_template

ROWS = [{"ab": "hello1"}, {"ab": "hello2"}]
DATA = {
    "s": "hello world",
    "n": 5,
    "f": 36.25,
    "m": {"b": 2, "a": 1},
    "l": [3, 1, 2],
    "html": "<b>&",
    "big": 1e6,
    "z": None,
}


def render(text: str, data=None) -> str:
    return compile_template(text).render(DATA if data is None else data)


def exec_error(text: str, data=None) -> str:
    tpl = compile_template(text)
    with pytest.raises(TemplateError) as info:
        tpl.render(DATA if data is None else data)
    return str(info.value)


def parse_error(text: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        compile_template(text)
    return info.value


# --- spec/sql.md section 11 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        ("{{.field}}", {"field": "v"}, "v"),
        ("{{.a.b}}", {"a": {"b": 7}}, "7"),
        ('{{index . 0 "ab"}}', ROWS, "hello1"),
        ("{{json .}}", ROWS, '[{"ab":"hello1"},{"ab":"hello2"}]'),
        ("{{if .x}}x{{else if .y}}y{{else}}none{{end}}", {"y": 1}, "y"),
        ("{{if .x}}x{{else if .y}}y{{else}}none{{end}}", {}, "none"),
        ("{{range .}}{{.ab}};{{end}}", ROWS, "hello1;hello2;"),
        ("{{range $i, $e := .values}}{{$i}}={{$e}} {{end}}", {"values": ["a", "b"]}, "0=a 1=b "),
        ("{{$x := len .values}}{{$x}}", {"values": [1, 2, 3]}, "3"),
        ("{{with .a}}{{.b}}{{end}}", {"a": {"b": "in"}}, "in"),
        ("{{.x | toJson}}", {"x": {"k": [1, "two"]}}, '{"k":[1,"two"]}'),
        ("a  {{- .x -}}  b", {"x": 1}, "a1b"),
        ("{{.t_av}}", {"t_av": 36.25}, "36.25"),
        ("{{.v}}", {"v": 1e6}, "1e+06"),
        ("{{.missing}}", {}, "<no value>"),
    ],
)
def test_spec_section_11(text, data, expected):
    assert render(text, data) == expected


def test_lt_needs_the_same_numeric_kind():
    assert render("{{lt .t_av 30.0}}", {"t_av": 27.0}) == "true"
    msg = exec_error("{{lt .t_av 30}}", {"t_av": 27.0})
    assert msg == (
        'template: sink:1:2: executing "sink" at <lt .t_av 30>: error calling lt: '
        "incompatible types for comparison: float64 and int"
    )
    assert "incompatible types for comparison: int64 and float64" in exec_error("{{lt .t 30.0}}", {"t": 3})


# --- eKuiper's data template documentation, with our own data -----------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"content":{{json .}}}', '{"content":{"ab":"hello1"}}'),
        ('{"content":{{.ab}}}', '{"content":hello1}'),
        ('{"content":"{{.ab}}"}', '{"content":"hello1"}'),
        ("{{toJson .}}", '{"ab":"hello1"}'),
    ],
)
def test_doc_send_single(text, expected):
    assert render(text, ROWS[0]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"content":{{json .}}}', '{"content":[{"ab":"hello1"},{"ab":"hello2"}]}'),
        ('{"content":{{json (index . 0)}}}', '{"content":{"ab":"hello1"}}'),
        ('{"content":{{index . 0 "ab"}}}', '{"content":hello1}'),
        (
            "<div>results</div><ul>{{range .}}<li>{{.ab}}</li>{{end}}</ul>",
            "<div>results</div><ul><li>hello1</li><li>hello2</li></ul>",
        ),
        ("{{range $i, $r := .}}{{if $i}},{{end}}{{$r.ab}}{{end}}", "hello1,hello2"),
    ],
)
def test_doc_whole_array(text, expected):
    assert render(text, ROWS) == expected


def test_doc_content_conversion():
    tpl = compile_template(
        '{"device_id": {{.device_id}}, "description": "{{if lt .t_av 30.0}}Current temperature is {{.t_av}}, '
        "it's normal.\"{{else if ge .t_av 30.0}}Current temperature is {{.t_av}}, it's high.\"{{end}}}"
    )
    rows = [
        {"device_id": 1, "t_av": 36.25, "t_count": 4, "t_max": 80, "t_min": 10},
        {"device_id": 2, "t_av": 27.0, "t_count": 4, "t_max": 45, "t_min": 12},
    ]
    assert [tpl.render(r) for r in rows] == [
        '{"device_id": 1, "description": "Current temperature is 36.25, it\'s high."}',
        '{"device_id": 2, "description": "Current temperature is 27, it\'s normal."}',
    ]


def test_doc_data_traversal():
    tpl = compile_template(
        '{{$len := len .values}} {{$loopsize := add $len -1}} {"device_id": "{{.device_id}}", "description": '
        '[{{range $index, $ele := .values}} {{if le .temperature 25.0}}"fine"{{else if gt .temperature 25.0}}'
        '"high"{{end}} {{if eq $loopsize $index}}]{{else}},{{end}}{{end}}}'
    )
    out = tpl.render(
        {"device_id": "1", "values": [{"temperature": 10.5}, {"temperature": 20.3}, {"temperature": 30.3}]}
    )
    assert json.loads(out) == {"device_id": "1", "description": ["fine", "fine", "high"]}
    assert out == '  {"device_id": "1", "description": [ "fine" , "fine" , "high" ]}'


def test_doc_if_else_with_json_braces():
    tpl = compile_template('{{if .hot}} {"field1": true} {{else}}  {"field1": false} {{end}}')
    assert tpl.render({"hot": True}) == ' {"field1": true} '
    assert tpl.render({"hot": False}) == '  {"field1": false} '


# --- actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{.}}", "map[a:1 b:x]"),
        ("{{$}}", "map[a:1 b:x]"),
        ("{{$x := .a}}{{$x = add $x 1}}{{$x}}", "2"),
        ("{{$x := 1}}{{if true}}{{$x := 5}}{{$x}}{{end}}{{$x}}", "51"),
        ("{{$x := 1}}{{if true}}{{$x = 5}}{{end}}{{$x}}", "5"),
        ("{{$x := 1}}{{$x := $x}}{{$x}}", "1"),
        ("{{with $v := .b}}{{$v}}{{.}}{{end}}", "xx"),
        ("{{with .nope}}yes{{else}}no{{end}}", "no"),
        ("{{with .nope}}1{{else with .b}}2{{.}}{{end}}", "2x"),
        ("{{(len .b)}}", "1"),
        ('{{(dict "k" .a).k}}', "1"),
        ('{{.a | add 10 | printf "%03d"}}', "011"),
        ("a{{/* a comment */}}b", "ab"),
        ("a {{- /* trimmed */ -}} b", "ab"),
        ("{{- 3 }} {{ 4 -}} ", "3 4"),
        ('{{"a" -}}\n\t x', "ax"),
        ("{{if\n .a\n}}multi-line{{end}}", "multi-line"),
        ("{{`raw\\n`}}", "raw\\n"),
        ("{{'a'}} {{0x10}} {{0o17}} {{0b101}} {{1_000}} {{1e3}} {{-.5}}", "97 16 15 5 1000 1000 -0.5"),
        ('{{true}} {{false}} {{"s\\t"}}', "true false s\t"),
    ],
)
def test_actions(text, expected):
    assert render(text, {"a": 1, "b": "x"}) == expected


def test_range_forms():
    assert render("{{range .}}{{.}},{{else}}none{{end}}", []) == "none"
    assert render("{{range .nope}}x{{else}}none{{end}}", {}) == "none"
    assert render("{{range $k, $v := .}}{{$k}}={{$v}};{{end}}", {"b": 2, "a": 1}) == "a=1;b=2;"
    assert render("{{range $v := .}}{{$v}}{{end}}", {"b": 2, "a": 1}) == "12"
    assert render("{{range 3}}{{.}}{{end}}", {}) == "012"
    assert render("{{$i := 0}}{{$e := 0}}{{range $i, $e = .}}{{end}}{{$i}}{{$e}}", ["a", "b"]) == "1b"
    assert (
        render(
            "{{range .}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}",
            [0, 1, 2, 3],
        )
        == "02"
    )
    assert render("{{range $i, $e := .}}{{range $e}}{{.}}{{end}}|{{end}}", [[1, 2], [3]]) == "12|3|"
    assert render("{{range .}}{{.}}{{end}}", b"\x01\x02") == "12"


def test_define_template_and_block():
    tpl = '{{define "row"}}<{{.ab}}>{{end}}{{range .}}{{template "row" .}}{{end}}'
    assert render(tpl, ROWS) == "<hello1><hello2>"
    assert render('{{block "b" .}}[{{len .}}]{{end}}', ROWS) == "[2]"
    assert render('{{define "b"}}{{end}}{{block "b" 1}}[{{.}}]{{end}}', {}) == "[1]"
    with pytest.raises(TemplateError, match='multiple definition of template "b"'):
        compile_template('{{define "b"}}({{.}}){{end}}{{block "b" 1}}[{{.}}]{{end}}')
    assert render('{{define "x"}}{{$}}{{end}}{{template "x" 5}}{{template "x"}}', {}) == "5<no value>"
    # a template sees no variables of its caller, only its own $
    with pytest.raises(TemplateError, match='undefined variable "\\$v"'):
        compile_template('{{$v := 1}}{{define "x"}}{{$v}}{{end}}')


def test_truthiness_is_gos():
    falsy = [False, 0, 0.0, "", [], {}, None]
    truthy = [True, 1, -1.5, "0", [0], {"a": None}, _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)]
    tpl = compile_template("{{if .v}}T{{else}}F{{end}}")
    assert [tpl.render({"v": v}) for v in falsy] == ["F"] * len(falsy)
    assert [tpl.render({"v": v}) for v in truthy] == ["T"] * len(truthy)
    assert tpl.render({}) == "F"


def test_and_or_return_an_argument_and_short_circuit():
    assert render('{{and 1 0 2}}|{{and 1 2}}|{{or 0 "" "x"}}|{{or 0 ""}}|{{not 0}}', {}) == "0|2|x||true"
    assert render("{{and false (index .l 10)}}{{or true (index .l 10)}}", {"l": []}) == "falsetrue"
    assert render("{{.x | and true}}", {"x": "last"}) == "last"


def test_eq_with_several_arguments_and_nil():
    assert render("{{eq .n 1 2 5}} {{eq .n 1 2}}", {"n": 5}) == "true false"
    assert render('{{eq .missing nil}} {{eq .z nil}} {{eq .missing "a"}}', {"z": None}) == "true true false"
    assert render(
        '{{ne .s "x"}} {{lt "a" "b"}} {{le 1 1}} {{gt 2.5 1.5}} {{ge .n 6}}', {"s": "s", "n": 5}
    ) == ("true true true true false")


# --- value printing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (36.25, "36.25"),
        (27.0, "27"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.5, "-0.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
        (1000000, "1000000"),
        (True, "true"),
        ({"b": [1, 2.5], "a": None}, "map[a:<nil> b:[1 2.5]]"),
        ([{"x": 1}, "s", [True]], "[map[x:1] s [true]]"),
        (b"hi", "[104 105]"),
        (_dt.datetime(2024, 3, 5, 14, 7, 9, 120000, tzinfo=_dt.UTC), "2024-03-05 14:07:09.12 +0000 UTC"),
        (None, "<no value>"),
    ],
)
def test_values_print_as_go_percent_v(value, expected):
    assert render("{{.v}}", {"v": value}) == expected


def test_missing_and_nil():
    assert render('{{.a.b.c}} {{index . "q"}} {{.z}}', {"z": None}) == "<no value> <no value> <no value>"
    assert render("{{print .missing}} {{html .missing}}", {}) == "<nil> &lt;no value&gt;"
    assert compile_template("{{.}}").render(None) == "<no value>"


# --- functions ------------------------------------------------------------------------------------


FUNCTION_CASES = [
    # Go builtins
    ('{{len "héllo"}} {{len .l}} {{len .m}}', "6 3 2"),
    ('{{index "abc" 1}} {{index .m "a"}} {{index .l 2}}', "98 1 2"),
    ("{{slice .l 1 3}} {{slice .l 1}}", "[1 2] [1 2]"),
    ('{{print 1 2 "a" 3}}|{{println 1 "a"}}', "1 2a3|1 a\n"),
    (
        '{{printf "%v %d %s %f %.2f %q %t %x %X %%" .f 3 "s" 1.5 2.345 "q" true 255 "hi"}}',
        '36.25 3 s 1.500000 2.35 "q" true ff 6869 %',
    ),
    (
        '{{printf "%5.1f|%-5d|%05d|%+d|%e|%g|%c|%o|%b|%T" 3.14159 3 -42 5 1500.0 1e6 65 8 5 .m}}',
        "  3.1|3    |-0042|+5|1.500000e+03|1e+06|A|10|101|map[string]interface {}",
    ),
    (
        '{{printf "%d %s" "x"}} {{printf "%d" 1 2}} {{printf "%s" .l}}',
        "%!d(string=x) %!s(MISSING) 1%!(EXTRA int64=2) [%!s(int64=3) %!s(int64=1) %!s(int64=2)]",
    ),
    ("{{html \"<a href='x'>&</a>\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
    ('{{js "it\'s <b>"}}', "it\\'s \\u003Cb\\u003E"),
    ('{{urlquery "a b&c=d/é"}}', "a+b%26c%3Dd%2F%C3%A9"),
    ("{{not .n}} {{not .z}}", "false true"),
    # eKuiper
    ("{{json .m}} {{json .html}}", '{"a":1,"b":2} "\\u003cb\\u003e\\u0026"'),
    (
        "{{base64 .s}} {{base64 3.5}} {{base64 true}} {{base64 7}} {{base64 .m}}",
        "aGVsbG8gd29ybGQ= My41 dHJ1ZQ== Nw== eyJhIjoxLCJiIjoyfQ==",
    ),
    # sprig: JSON, encoding, hashes
    ("{{toJson .html}} {{toRawJson .html}}", '"\\u003cb\\u003e\\u0026" "<b>&"'),
    ("{{toPrettyJson .m}}", '{\n  "a": 1,\n  "b": 2\n}'),
    ('{{(fromJson "{\\"a\\":1}").a}} {{fromJson "[1,2]" | toJson}} {{fromJson "x"}}', "1 [1,2] <no value>"),
    ('{{b64enc "hi"}} {{b64dec "aGk="}} {{b64dec "!!"}}', "aGk= hi illegal base64 data at input byte 0"),
    ('{{sha256sum "hello"}}', "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    # sprig: math
    (
        "{{add 1 2 3}} {{add1 1}} {{sub 5 3}} {{mul 2 3 4}} {{div 7 2}} {{div -7 2}} {{mod -7 2}} {{add 1.5 2}}",
        "6 2 2 24 3 -3 -1 3",
    ),
    ('{{max 1 5 3}} {{min 4 2 8}} {{add "10" 1}} {{add "0x10" 1}} {{add .z 1}}', "5 2 11 17 1"),
    (
        "{{round 3.14159 2}} {{round 2.5 0}} {{round -2.5 0}} {{floor 3.7}} {{ceil 3.2}} {{floor .n}}",
        "3.14 3 -3 3 4 5",
    ),
    (
        "{{addf 0.1 0.2}} {{subf 1 0.9}} {{mulf 1.1 3}} {{divf 1 3}} {{maxf 1 2.5}} {{minf 1 2.5}}",
        "0.3 0.1 3.3 0.3333333333333333 2.5 1",
    ),
    (
        "{{until 3}} {{untilStep 0 10 4}} {{seq 3}} {{seq 5 -2 1}} {{seq 2 4}}",
        "[0 1 2] [0 4 8] 1 2 3 5 3 1 2 3 4",
    ),
    # sprig: strings
    (
        '{{upper .s}} {{lower "ABC"}} {{title .s}} {{trim "  x  "}} {{trimAll "$" "$$x$"}}',
        "HELLO WORLD abc Hello World x x",
    ),
    (
        '{{trimPrefix "a" "abc"}} {{trimSuffix "c" "abc"}} {{replace "a" "b" "aaa"}} {{repeat 3 "ab"}}',
        "bc ab bbb ababab",
    ),
    ('{{contains "b" "abc"}} {{hasPrefix "a" "abc"}} {{hasSuffix "x" "abc"}}', "true true false"),
    ('{{substr 1 3 "hello"}} {{substr 2 10 "abc"}} {{trunc 3 "hello"}} {{trunc -2 "hello"}}', "el c hel lo"),
    (
        '{{split "," "a,b"}} {{splitList "," "a,b"}} {{join "-" (list 1 2 "a")}} {{join "," .l}}',
        "map[_0:a _1:b] [a b] 1-2-a 3,1,2",
    ),
    ('{{quote "a" 1 .missing}} {{squote "a" 2}} {{cat "a" 1 .missing "b"}}', "\"a\" \"1\" 'a' '2' a 1 b"),
    ('{{indent 2 "a\\nb"}}|{{nindent 2 "a"}}', "  a\n  b|\n  a"),
    ('{{toString 1.5}} {{toString .m}} {{atoi "42"}} {{atoi "4x"}}', "1.5 map[a:1 b:2] 42 0"),
    (
        '{{int "12"}} {{int64 3.9}} {{float64 "1.5"}} {{float64 .n}} {{int "1.0"}} {{int true}}',
        "12 3 1.5 5 1 1",
    ),
    (
        '{{regexMatch "^a.c$" "abc"}} {{regexFind "[0-9]+" "ab12cd34"}} {{regexFindAll "[0-9]" "a1b2c3" 2}}',
        "true 12 [1 2]",
    ),
    (
        '{{regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W"}} {{regexReplaceAll "a(?P<x>x*)b" "-axb-" "$x$$"}}',
        "-W-xxW- -x$-",
    ),
    # sprig: defaults and flow
    (
        '{{default "x" .missing}} {{default "x" ""}} {{default "x" "y"}} {{.missing | default "d"}} {{.n | default 0}}',
        "x x y d 5",
    ),
    (
        '{{empty ""}} {{empty .l}} {{empty .missing}} {{coalesce .missing "" "z"}} {{ternary "a" "b" true}} {{ternary "a" "b" false}}',
        "true false true z a b",
    ),
    # sprig: dicts
    (
        '{{dict "a" 1 "b" "x"}} {{dict "odd"}} {{get .m "a"}} {{get .m "z"}}|{{hasKey .m "a"}} {{hasKey .m "z"}}',
        "map[a:1 b:x] map[odd:] 1 |true false",
    ),
    (
        '{{$d := dict "a" 1}}{{$_ := set $d "b" 2}}{{$d}} {{unset $d "a"}} {{$d}}',
        "map[a:1 b:2] map[b:2] map[b:2]",
    ),
    (
        '{{keys .m | sortAlpha}} {{values .m | len}} {{pick .m "a" "q"}} {{omit .m "a"}}',
        "[a b] 2 map[a:1] map[b:2]",
    ),
    # sprig: lists
    (
        '{{list 1 "a" .missing}} {{first .l}} {{last .l}} {{rest .l}} {{append .l 9}}',
        "[1 a <nil>] 3 2 [1 2] [3 1 2 9]",
    ),
    (
        '{{uniq (list 1 1 2 1.0)}} {{sortAlpha (list "b" "a" 10)}} {{first (list)}}',
        "[1 2 1] [10 a b] <no value>",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTION_CASES)
def test_functions(text, expected):
    assert render(text) == expected


def test_random_and_time_functions():
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", render("{{uuidv4}}")
    )
    fixed = _dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=_dt.UTC)
    tpl = compile_template(
        '{{now | date "2006-01-02T15:04:05Z07:00"}} {{dateInZone "15:04 MST" now "UTC"}}', now=lambda: fixed
    )
    out = tpl.render({})
    assert out.endswith(" 14:07 UTC")
    assert _dt.datetime.fromisoformat(out.split()[0]) == fixed
    parsed = '(toDate "2006-01-02T15:04:05Z07:00" "2024-03-05T10:00:00+02:00")'
    assert render('{{dateInZone "2006-01-02 15:04" ' + parsed + ' "UTC"}}') == "2024-03-05 08:00"
    assert render("{{" + parsed + " | unixEpoch}}") == "1709625600"
    assert render('{{toDate "2006-01-02" "not a date"}}') == "0001-01-01 00:00:00 +0000 UTC"
    assert render(
        '{{dateInZone "2006-01-02" 86400 "UTC"}} {{dateInZone "15:04" .t "Asia/Tokyo"}}', {"t": fixed}
    ) == ("1970-01-02 23:07")


LISTED = "and or not len index slice print printf println eq ne lt le gt ge html js urlquery call json base64 toJson toPrettyJson toRawJson fromJson b64enc b64dec add add1 sub mul div mod max min round floor ceil upper lower title trim trimAll trimPrefix trimSuffix replace contains hasPrefix hasSuffix repeat substr trunc split splitList join default empty coalesce ternary dict list get set unset hasKey keys values pick omit first last rest append uniq sortAlpha now date dateInZone toDate toString atoi int int64 float64 quote squote cat indent nindent regexMatch regexFind regexReplaceAll uuidv4 sha256sum until seq"  # noqa: E501


@pytest.mark.parametrize("name", LISTED.split())
def test_every_listed_function_is_exercised(name):
    source = Path(__file__).read_text(encoding="utf-8").replace(LISTED, "")
    assert re.search(r"\{\{[^}\n]*(?<![\w.$])" + re.escape(name) + r"\b", source), f"{name} has no test"


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("{{if .x}}", "template: sink:1: unexpected EOF", 1),
        ("{{end}}", "template: sink:1: unexpected {{end}}", 1),
        ("{{else}}", "template: sink:1: unexpected {{else}}", 1),
        ("{{.x | 1}}", "template: sink:1: non executable command in pipeline stage 2", 1),
        ("line1\nline2 {{foo}}", 'template: sink:2: function "foo" not defined', 2),
        ("{{$x}}", 'template: sink:1: undefined variable "$x"', 1),
        ('{{"abc}}', "template: sink:1: unterminated quoted string", 1),
        ("{{.x}", "template: sink:1: bad character U+007D '}'", 1),
        ("{{.x", "template: sink:1: unclosed action", 1),
        ("{{break}}", "template: sink:1: {{break}} outside {{range}}", 1),
        ("{{range $i, $e, $f := .}}{{end}}", "template: sink:1: too many declarations in range", 1),
        ("{{/* x }}", "template: sink:1: unclosed comment", 1),
        ("{{(.x}}", "template: sink:1: unclosed left paren", 1),
        ("{{.x)}}", "template: sink:1: unexpected right paren", 1),
        ("{{3x}}", 'template: sink:1: bad number syntax: "3x"', 1),
        (
            '{{define "a"}}1{{end}}{{define "a"}}2{{end}}',
            'template: sink:1: template: multiple definition of template "a"',
            1,
        ),
        ("{{if .a}}{{else}}{{else}}{{end}}", "template: sink:1: expected end; found {{else}}", 1),
        ("{{}}", "template: sink:1: missing value for command", 1),
        ("{{template .x}}", 'template: sink:1: unexpected ".x" in template clause', 1),
        ('{{"a".b}}', 'template: sink:1: unexpected . after term "\\"a\\""', 1),
        ("{{with $x := 1}}{{end}}{{$x}}", 'template: sink:1: undefined variable "$x"', 1),
        ("a\nb\n{{if .x}}\n{{else}}{{else}}{{end}}", "template: sink:4: expected end; found {{else}}", 4),
        ("{{'ab'}}", "template: sink:1: malformed character constant: 'ab'", 1),
        ("{{#}}", 'template: sink:1: unexpected "#" in command', 1),
    ],
)
def test_syntax_errors(text, message, line):
    err = parse_error(text)
    assert str(err) == message
    assert err.line == line


def test_syntax_error_column():
    err = parse_error("ab\ncd {{foo}}")
    assert (err.line, err.col) == (2, 5)


@pytest.mark.parametrize(
    ("text", "data", "message"),
    [
        (
            "{{index . 5}}",
            [1],
            'template: sink:1:2: executing "sink" at <index . 5>: error calling index: index out of range: 5',
        ),
        ("{{upper 3}}", {}, 'template: sink:1:8: executing "sink" at <3>: expected string; found 3'),
        (
            "{{upper .n}}",
            {"n": 1},
            'template: sink:1:8: executing "sink" at <.n>: wrong type for value; expected string; got int64',
        ),
        (
            "{{div 1 0}}",
            {},
            'template: sink:1:2: executing "sink" at <div 1 0>: error calling div: runtime error: integer divide by zero',
        ),
        (
            'x\n  {{template "nope"}}',
            {},
            'template: sink:2:13: executing "sink" at <{{template "nope"}}>: template "nope" not defined',
        ),
        (
            "{{.a.b}}",
            {"a": 5},
            'template: sink:1:4: executing "sink" at <.a.b>: can\'t evaluate field b in type interface {}',
        ),
        (
            "{{.a.b}}",
            {"a": None},
            'template: sink:1:4: executing "sink" at <.a.b>: nil pointer evaluating interface {}.b',
        ),
        (
            "{{.ab}}",
            ROWS,
            'template: sink:1:2: executing "sink" at <.ab>: can\'t evaluate field ab in type []map[string]interface {}',
        ),
        (
            "{{range .x}}{{end}}",
            {"x": 1.5},
            'template: sink:1:8: executing "sink" at <.x>: range can\'t iterate over 1.5',
        ),
        (
            "{{eq .m .m}}",
            {"m": {}},
            'template: sink:1:2: executing "sink" at <eq .m .m>: error calling eq: non-comparable type map[]: map[string]interface {}',
        ),
        (
            "{{eq .n}}",
            {"n": 1},
            'template: sink:1:2: executing "sink" at <eq .n>: error calling eq: missing argument for comparison',
        ),
        (
            "{{lt 1}}",
            {},
            'template: sink:1:2: executing "sink" at <lt>: wrong number of args for lt: want 2 got 1',
        ),
        (
            "{{lt true false}}",
            {},
            'template: sink:1:2: executing "sink" at <lt true false>: error calling lt: invalid type for comparison',
        ),
        (
            "{{len .z}}",
            {"z": None},
            'template: sink:1:2: executing "sink" at <len .z>: error calling len: len of nil pointer',
        ),
        (
            "{{len .n}}",
            {"n": 1.5},
            'template: sink:1:2: executing "sink" at <len .n>: error calling len: len of type float64',
        ),
        (
            "{{base64 .l}}",
            {"l": []},
            'template: sink:1:2: executing "sink" at <base64 .l>: error calling base64: Unsupported data type slice for base64 function.',
        ),
        (
            "{{call .f}}",
            {"f": 1},
            'template: sink:1:2: executing "sink" at <call .f>: error calling call: non-function .f of type int64',
        ),
        (
            '{{first "abc"}}',
            {},
            'template: sink:1:2: executing "sink" at <first "abc">: error calling first: Cannot find first on type string',
        ),
        (
            '{{substr 3 1 "abc"}}',
            {},
            'template: sink:1:2: executing "sink" at <substr 3 1 "abc">: error calling substr: runtime error: slice bounds out of range [3:1]',
        ),
        (
            '{{set .missing "a" 1}}',
            {},
            'template: sink:1:2: executing "sink" at <set .missing "a" 1>: error calling set: assignment to entry in nil map',
        ),
        (
            "{{.s 1}}",
            {"s": "x"},
            'template: sink:1:2: executing "sink" at <.s>: s is not a method but has arguments',
        ),
        ("{{nil}}", {}, 'template: sink:1:2: executing "sink" at <nil>: nil is not a command'),
        (
            '{{repeat .f "x"}}',
            {"f": 2.0},
            'template: sink:1:9: executing "sink" at <.f>: wrong type for value; expected int; got float64',
        ),
        (
            '{{fail "boom"}}',
            {},
            'template: sink:1:2: executing "sink" at <fail "boom">: error calling fail: boom',
        ),
        (
            '{{define "T"}}{{index . 9}}{{end}}{{template "T" .}}',
            [],
            'template: sink:1:16: executing "T" at <index . 9>: error calling index: index out of range: 9',
        ),
        (
            '{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}',
            {},
            'template: sink:1:25: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (100)',
        ),
    ],
)
def test_execution_errors(text, data, message):
    assert exec_error(text, data) == message


def test_execution_error_position_attributes():
    tpl = compile_template("row\n  {{index . 3}}")
    with pytest.raises(TemplateError) as info:
        tpl.render([])
    assert (info.value.line, info.value.col) == (2, 4)


def test_json_functions_follow_encoding_json():
    data = {
        "b": [1.0, 1e21, 1e-7, "\u2028"],
        "a": _dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=_dt.UTC),
        "c": b"\x01",
    }
    assert render("{{json .}}", data) == (
        '{"a":"2024-01-02T03:04:05Z","b":[1,1e+21,1e-7,"\\u2028"],"c":"AQ=="}'
    )
    assert render("{{toJson .v}}|{{toRawJson .v}}", {"v": float("nan")}) == "|"


def test_templates_are_reusable_and_data_is_left_alone():
    tpl = compile_template("{{range .}}{{.a}}{{end}}")
    assert isinstance(tpl, Template)
    rows = [{"a": 1}, {"a": 2}]
    assert [tpl.render(rows) for _ in range(3)] == ["12"] * 3
    assert rows == [{"a": 1}, {"a": 2}]


def test_custom_template_name():
    tpl = compile_template("{{index . 1}}", "mysink")
    with pytest.raises(TemplateError, match='^template: mysink:1:2: executing "mysink"'):
        tpl.render([])


# --- property: rendering raises nothing but TemplateError -----------------------------------------

_ARGS = [
    ".",
    ".a",
    ".a.b",
    ".l",
    ".m",
    ".s",
    ".missing",
    "$",
    "$v",
    "1",
    "-2",
    "2.5",
    "0",
    '"s"',
    '""',
    "true",
    "nil",
    "(len .l)",
]
_FUNCS = [
    "len", "index", "slice", "print", "printf", "eq", "lt", "ge", "and", "or", "not", "json", "base64", "toJson",
    "add", "sub", "div", "mod", "max", "round", "upper", "trim", "repeat", "substr", "trunc", "split", "join",
    "default", "empty", "coalesce", "dict", "list", "get", "set", "keys", "first", "rest", "append", "uniq",
    "sortAlpha", "toString", "atoi", "int", "float64", "quote", "cat", "indent", "regexMatch", "regexFind",
    "until", "seq", "call", "html", "js", "urlquery", "b64dec", "fromJson", "date", "toDate", "title",
]  # fmt: skip

args = st.sampled_from(_ARGS)
command = st.one_of(
    args,
    st.tuples(st.sampled_from(_FUNCS), st.lists(args, max_size=3)).map(lambda t: " ".join([t[0], *t[1]])),
)
pipeline = st.lists(command, min_size=1, max_size=3).map(" | ".join)


def _blocks(inner):
    return st.one_of(
        st.tuples(st.sampled_from(["if", "with", "range"]), pipeline, inner, st.booleans(), inner).map(
            lambda t: f"{{{{{t[0]} {t[1]}}}}}{t[2]}" + (f"{{{{else}}}}{t[4]}" if t[3] else "") + "{{end}}"
        ),
        st.tuples(inner, inner).map("".join),
        inner.map(lambda b: '{{define "d"}}' + b + '{{end}}{{template "d" .}}'),
    )


piece = st.one_of(
    st.sampled_from(["text", " ", "\n", "{{- ", " -}}", "{{/* c */}}", "{{break}}", "{{$v := .a}}"]),
    pipeline.map(lambda p: "{{" + p + "}}"),
    pipeline.map(lambda p: "{{$v = " + p + "}}"),
)
template_text = st.recursive(piece, lambda inner: _blocks(inner), max_leaves=8)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abslm"), inner, max_size=3)
    ),
    max_leaves=10,
)
data = st.one_of(
    st.dictionaries(st.sampled_from(["a", "b", "l", "m", "s"]), json_value, max_size=5),
    st.lists(json_value, max_size=3),
    json_value,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(template_text, st.text(alphabet="{}$.|()\"'`:=- ab1,", max_size=12)).map("".join), data)
def test_rendering_raises_nothing_but_template_error(text, value):
    try:
        tpl = compile_template("{{$v := 0}}" + text)
    except TemplateError:
        return
    try:
        out = tpl.render(value)
    except TemplateError as e:
        assert str(e).startswith("template: sink:")
        return
    assert isinstance(out, str)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}$.|()\"'`:=-/* \nabif1,", max_size=30))
def test_parsing_raises_nothing_but_template_error(text):
    try:
        compile_template(text).render({"a": 1})
    except TemplateError as e:
        assert str(e).startswith("template: sink:")
