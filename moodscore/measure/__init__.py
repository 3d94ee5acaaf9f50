"""Measures of music read from MIDI files alone, and the same measures of real music.

Public API: :mod:`.structure` (:func:`~.structure.measure`), :mod:`.references`
(:func:`~.references.load_references`, :func:`~.references.build_references`).
"""
