"""Sound from the engine itself: an embedded SoundFont synth played into a sound device.

- :mod:`.synth`: FluidSynth with a SoundFont, rendered in blocks with each MIDI event at its
  sample (no I/O).
- :mod:`.library`: which FluidSynth library: the system's, else the one the pygame-ce wheel carries.
- :mod:`.backends`: the output backend: PortAudio (sounddevice), else miniaudio.
- :mod:`.devices`: a backend's output devices, picked by any part of a device or host API name.
- :mod:`.sink`: :class:`~moodscore.audio.sink.AudioSink`, the MIDI sink that joins them.
"""
