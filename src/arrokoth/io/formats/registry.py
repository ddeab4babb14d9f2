"""Payload formats by name: `FORMAT` of a stream, `format` of a sink.

A format registers a decoder factory `(stream, props) -> decoder` and an encoder factory
`(props) -> encoder`. A decoder's `decode(payload)` gives a list of messages (dicts); an
encoder's `encode(data)` gives the payload bytes of one row or a list of rows. Both raise
`FormatError` with a message that says what is wrong with the payload or the settings.
Plugins register their formats here the same way the built-ins do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from arrokoth.io.formats.json import FormatError, JsonDecoder, JsonEncoder
from arrokoth.io.props import bool_prop as _bool_prop
from arrokoth.io.props import prop
from arrokoth.plan.streams import StreamDef

__all__ = [
    "Decoder", "Encoder", "FormatError", "decoder_for", "encoder_for", "format_names", "prop",
    "register_format",
]


class Decoder(Protocol):
    def decode(self, payload: bytes) -> list[dict]: ...


class Encoder(Protocol):
    def encode(self, data: Any) -> bytes: ...


DecoderFactory = Callable[[StreamDef | None, dict], Decoder]
EncoderFactory = Callable[[dict], Encoder]

_DECODERS: dict[str, DecoderFactory] = {}
_ENCODERS: dict[str, EncoderFactory] = {}


def bool_prop(props: dict | None, name: str, default: bool = False) -> bool:
    return _bool_prop(props, name, default, error=FormatError, expected="a bool")


def register_format(name: str, *, decoder: DecoderFactory | None = None, encoder: EncoderFactory | None = None) -> None:
    """Add (or replace) a format; either side may be left out."""
    key = name.lower()
    if decoder is not None:
        _DECODERS[key] = decoder
    if encoder is not None:
        _ENCODERS[key] = encoder


def format_names() -> list[str]:
    return sorted(set(_DECODERS) | set(_ENCODERS))


def decoder_for(stream: StreamDef | None, props: dict | None = None, fmt: str | None = None) -> Decoder:
    """The decoder of a stream's FORMAT (or of `fmt`), set up with the source properties."""
    if fmt is None:
        fmt = stream.format if stream is not None else "json"
    factory = _DECODERS.get((fmt or "json").lower())
    if factory is None:
        raise FormatError(f"unsupported format {fmt}: no decoder is registered for it")
    return factory(stream, props or {})


def encoder_for(fmt: str | None, props: dict | None = None) -> Encoder:
    """The encoder of a sink's `format`, set up with the sink properties."""
    factory = _ENCODERS.get((fmt or "json").lower())
    if factory is None:
        raise FormatError(f"unsupported format {fmt}: no encoder is registered for it")
    return factory(props or {})


# --- the built-in formats -------------------------------------------------------------------

def _json_decoder(stream: StreamDef | None, props: dict) -> Decoder:
    return JsonDecoder(stream, ints=bool(prop(props, "useInt64ForWholeNumber", False)))


def _json_encoder(props: dict) -> Encoder:
    return JsonEncoder()


def _binary_decoder(stream: StreamDef | None, props: dict) -> Decoder:
    from arrokoth.io.formats.binary import BinaryDecoder

    return BinaryDecoder(stream)


def _binary_encoder(props: dict) -> Encoder:
    from arrokoth.io.formats.binary import BinaryEncoder

    return BinaryEncoder()


def _delimited_decoder(stream: StreamDef | None, props: dict) -> Decoder:
    from arrokoth.io.formats.delimited import DelimitedDecoder

    return DelimitedDecoder.from_props(stream, props)


def _delimited_encoder(props: dict) -> Encoder:
    from arrokoth.io.formats.delimited import DelimitedEncoder

    return DelimitedEncoder.from_props(props)


def _protobuf_decoder(stream: StreamDef | None, props: dict) -> Decoder:
    from arrokoth.io.formats.protobuf import ProtobufDecoder

    schema_id = stream.option("SCHEMAID") if stream is not None else ""
    return ProtobufDecoder(schema_id or prop(props, "schemaId", ""))


def _protobuf_encoder(props: dict) -> Encoder:
    from arrokoth.io.formats.protobuf import ProtobufEncoder

    return ProtobufEncoder(prop(props, "schemaId", ""))


register_format("json", decoder=_json_decoder, encoder=_json_encoder)
register_format("binary", decoder=_binary_decoder, encoder=_binary_encoder)
register_format("delimited", decoder=_delimited_decoder, encoder=_delimited_encoder)
register_format("protobuf", decoder=_protobuf_decoder, encoder=_protobuf_encoder)
