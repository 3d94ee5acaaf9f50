"""Apply a validated protocol message to the conductor. Pure: no sockets, no clocks of its own.

Both transports (OSC, WebSocket) decode into :mod:`moodscore.engine.protocol` messages and
call :func:`apply`; what a message cannot do (an unknown stinger, one still cooling down)
raises :class:`~moodscore.errors.ConfigError` with a line for the client.

Public API: :func:`apply`.
"""
from __future__ import annotations

from ..errors import ConfigError
from .conductor import Conductor, Cut
from .theme import theme_from_abc
from .protocol import (
    ArousalMessage,
    IntensityMessage,
    PlayMessage,
    StingerMessage,
    StopMessage,
    StyleMessage,
    SubscribeMessage,
    TempoMessage,
    ThemeMessage,
    TransitionMessage,
    ValenceMessage,
    VAMessage,
)


def apply(conductor: Conductor, msg: object, now: float) -> list[Cut]:
    """Carry out ``msg`` at engine time ``now``; return any cuts the caller must apply."""
    if isinstance(msg, VAMessage):
        conductor.set_mood(now, msg.valence, msg.arousal, msg.glide)
    elif isinstance(msg, ValenceMessage):
        conductor.set_mood(now, valence=msg.value, glide=msg.glide)
    elif isinstance(msg, ArousalMessage):
        conductor.set_mood(now, arousal=msg.value, glide=msg.glide)
    elif isinstance(msg, StingerMessage):
        if not conductor.stinger(now, msg.name):
            raise ConfigError(f"stinger {msg.name!r} refused: cooling down "
                              f"({conductor.stinger_cooldown:g} s between stingers)")
    elif isinstance(msg, TransitionMessage):
        conductor.set_transition(msg.mode)
    elif isinstance(msg, TempoMessage):
        conductor.set_tempo_override(msg.bpm)
    elif isinstance(msg, PlayMessage):
        conductor.play(now)
    elif isinstance(msg, StopMessage):
        return conductor.stop(now, at=msg.at)
    elif isinstance(msg, IntensityMessage):
        conductor.set_intensity(now, msg.value, msg.glide)
    elif isinstance(msg, StyleMessage):
        conductor.set_style(msg.name)
    elif isinstance(msg, ThemeMessage):
        theme = theme_from_abc(msg.abc, conductor.meter, what="theme abc")
        if theme.meter != conductor.meter:
            raise ConfigError(f"theme abc: the theme is in {theme.meter}, the music in "
                              f"{conductor.meter}; give a theme in {conductor.meter}")
        conductor.set_theme(theme)
    elif isinstance(msg, SubscribeMessage):
        pass  # a transport concern
    else:
        raise ConfigError(f"unsupported message {type(msg).__name__}")
    return []
