"""``moodscore demo``: hear moodscore from a web page alone, or render a mood journey to WAV.

- :mod:`.live`: the live engine with a browser sink, its page and WebSocket on one port.
- :mod:`.sink`: :class:`~.sink.BrowserSink`, every MIDI message sent, to subscribed browsers.
- :mod:`.site`: the page's static files (built from ``web/``) and its state, over HTTP.
- :mod:`.journey`: a scripted mood journey on the virtual clock, to MIDI and WAV.
- :mod:`.assets`: what the page's SoundFont must hold (read by ``web/build.sh``).
"""
