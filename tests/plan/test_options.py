"""Rule options (spec §7): eKuiper's defaults, durations, and type checking."""

from __future__ import annotations

import math

import pytest

from arrokoth.plan.options import OptionError, RuleOptions, parse_duration_ms

# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("1s", 1000),
        ("500ms", 500),
        ("1m30s", 90_000),
        ("1h", 3_600_000),
        ("1.5s", 1500),
        ("2h45m", 9_900_000),
        ("1000us", 1),
        ("1000000ns", 1),
        ("-1s", -1000),
        (" 3s ", 3000),
        ("10", 10),  # a bare number is milliseconds
        ("", 0),
        (1500, 1500),
        (2.7, 2),
        (0, 0),
    ],
)
def test_parse_duration(value, ms):
    assert parse_duration_ms(value) == ms


@pytest.mark.parametrize("value", ["abc", "1x", "s", "1 s", "1s2", "ms500", True, False, None, [1], {"s": 1}])
def test_parse_duration_rejects_garbage(value):
    with pytest.raises(OptionError, match=r"^invalid lateTolerance: "):
        parse_duration_ms(value, "lateTolerance")


# --- RuleOptions ----------------------------------------------------------------------------


def test_defaults_are_ekuipers():
    o = RuleOptions.from_dict(None)
    assert o.is_event_time is False
    assert o.late_tolerance == 0
    assert o.send_error is False
    assert o.send_meta_to_sink is False
    assert o.send_nil_field is False
    assert o.buffer_length == 1024
    assert o.qos == 0
    assert o.checkpoint_interval == 300_000
    assert o.concurrency == 1
    assert o.restart_strategy == {}
    assert o.plan_optimize_strategy == {}
    assert o.incremental_window is False
    assert o.raw == {}


def test_options_are_read_with_their_ekuiper_names():
    o = RuleOptions.from_dict({
        "isEventTime": True,
        "lateTolerance": "1s",
        "sendError": True,
        "sendNilField": True,
        "sendMetaToSink": True,
        "bufferLength": 10,
        "qos": 2,
        "checkpointInterval": "5m",
        "concurrency": 3,
        "restartStrategy": {"attempts": 2},
        "cron": "*/5 * * * *",
        "duration": "10m",
        "cronDatetimeRange": [{"begin": "x"}],
        "disableBufferFullDiscard": True,
        "debug": True,
    })
    assert (o.is_event_time, o.late_tolerance, o.send_error, o.send_nil_field, o.send_meta_to_sink) == (
        True, 1000, True, True, True,
    )
    assert (o.buffer_length, o.qos, o.checkpoint_interval, o.concurrency) == (10, 2, 300_000, 3)
    assert o.restart_strategy == {"attempts": 2}
    assert (o.cron, o.duration, o.cron_datetime_range) == ("*/5 * * * *", "10m", [{"begin": "x"}])
    assert o.disable_buffer_full_discard is True and o.debug is True


def test_durations_accept_milliseconds_too():
    assert RuleOptions.from_dict({"lateTolerance": 250}).late_tolerance == 250
    assert RuleOptions.from_dict({"checkpointInterval": 60000}).checkpoint_interval == 60_000


def test_option_names_are_case_insensitive_and_unknown_ones_ignored():
    o = RuleOptions.from_dict({"SENDERROR": True, "senderror2": 1, "whatever": {"x": 1}})
    assert o.send_error is True
    assert o.raw == {"SENDERROR": True, "senderror2": 1, "whatever": {"x": 1}}


def test_rule_options_override_defaults():
    o = RuleOptions.from_dict({"sendError": False}, {"sendError": True, "bufferLength": 5})
    assert o.send_error is False
    assert o.buffer_length == 5
    assert o.raw == {"sendError": False}  # only what the rule said


def test_incremental_window_reads_the_plan_optimize_strategy():
    o = RuleOptions.from_dict({"planOptimizeStrategy": {"enableIncrementalWindow": True}})
    assert o.incremental_window is True


def test_integral_float_is_accepted_for_integer_options():
    assert RuleOptions.from_dict({"bufferLength": 2.0}).buffer_length == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"isEventTime": "true"}, "option isEventTime expects a bool but got 'true'"),
        ({"sendError": 1}, "option sendError expects a bool but got 1"),
        ({"bufferLength": "1"}, "option bufferLength expects an integer but got '1'"),
        ({"bufferLength": True}, "option bufferLength expects an integer but got True"),
        ({"qos": 1.9}, "option qos expects an integer but got 1.9"),
        ({"concurrency": math.nan}, "option concurrency expects an integer but got nan"),
        ({"restartStrategy": []}, "option restartStrategy expects dict but got []"),
        ({"cron": 1}, "option cron expects str but got 1"),
        ({"cronDatetimeRange": "x"}, "option cronDatetimeRange expects list but got 'x'"),
        ({"planOptimizeStrategy": "on"}, "option planOptimizeStrategy expects dict but got 'on'"),
        ({"lateTolerance": "soon"}, "invalid lateTolerance: soon"),
        ({"checkpointInterval": True}, "invalid checkpointInterval: True"),
        ({"qos": 3}, "invalid qos 3: it must be 0, 1 or 2"),
        ({"qos": -1}, "invalid qos -1: it must be 0, 1 or 2"),
        ({"bufferLength": -1}, "bufferLength must not be negative"),
    ],
)
def test_wrong_types_are_option_errors(options, message):
    with pytest.raises(OptionError) as exc:
        RuleOptions.from_dict(options)
    assert str(exc.value) == message


def test_a_bad_default_is_reported_too():
    with pytest.raises(OptionError, match="sendNilField"):
        RuleOptions.from_dict({}, {"sendNilField": "no"})
