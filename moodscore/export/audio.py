"""Render a Standard MIDI File to a WAV file with FluidSynth and a General MIDI SoundFont.

FluidSynth runs as a program (``fluidsynth -F``, its fast file renderer), so nothing is linked
in and the synth is the one a user would hear from ``fluidsynth`` at the command line. The
result is 16-bit stereo PCM, written atomically: FluidSynth renders into a hidden temporary file
beside the target, which replaces the target only when the render succeeded, so a failure leaves
no partial file behind.

The renderer plays a copy of the MIDI file that ends with all-notes-off and all-sound-off on
every channel ``tail`` seconds after its last event: a note that was never ended would otherwise
keep FluidSynth rendering (and writing) forever. The WAV lasts the music plus ``tail``.

Public API: :func:`midi_to_wav`, :func:`find_soundfont`, :func:`fluidsynth_path`,
``SOUNDFONT_PATHS``, ``PACKAGES_HINT``.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import mido

from ..errors import ConfigError, OutputError

# Where Debian and Ubuntu (fluid-soundfont-gm, timgm6mb-soundfont, the default-GM alternative)
# and a few other distributions put a GM SoundFont, best first.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
PACKAGES_HINT = ("on Debian or Ubuntu: apt-get install fluidsynth fluid-soundfont-gm "
                 "(with sudo when not root)")
SAMPLE_RATES = (22050, 44100, 48000, 96000)
_ALL_OFF = (123, 120)  # all notes off, all sound off


def fluidsynth_path() -> str:
    """The ``fluidsynth`` program; :class:`OutputError` naming the packages when it is missing."""
    found = shutil.which("fluidsynth")
    if found is None:
        raise OutputError(f"FluidSynth is not installed (no fluidsynth on PATH); {PACKAGES_HINT}")
    return found


def find_soundfont(soundfont: str | os.PathLike[str] | None = None) -> Path:
    """``soundfont`` if given (it must exist), else the first GM SoundFont in the usual places."""
    if soundfont is not None:
        path = Path(soundfont)
        if not path.is_file():
            raise ConfigError(f"soundfont {path} is not a file; give an .sf2 file, or leave it out "
                              f"to use the system's GM SoundFont ({PACKAGES_HINT})")
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise ConfigError(f"soundfont {path} is not a SoundFont (.sf2: a RIFF 'sfbk' file)")
        return path
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise OutputError("no General MIDI SoundFont found (looked for " + ", ".join(SOUNDFONT_PATHS)
                      + f"); {PACKAGES_HINT}, or pass soundfont=PATH")


def _terminated_copy(midi: mido.MidiFile, tail: float) -> mido.MidiFile:
    """``midi`` plus a track that silences all 16 channels ``tail`` seconds after the end."""
    copy = mido.MidiFile(type=1 if midi.type == 0 else midi.type, ticks_per_beat=midi.ticks_per_beat)
    copy.tracks.extend(midi.tracks)
    # The end in ticks on the file's own tempo map: walk the merged track to where length ends.
    end_ticks, seconds, tempo = 0, 0.0, 500_000
    for msg in mido.merge_tracks(midi.tracks):
        seconds += mido.tick2second(msg.time, midi.ticks_per_beat, tempo)
        end_ticks += msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
    end_ticks += round(mido.second2tick(tail, midi.ticks_per_beat, tempo))
    track = mido.MidiTrack()
    for i, (channel, cc) in enumerate((ch, cc) for ch in range(16) for cc in _ALL_OFF):
        track.append(mido.Message("control_change", channel=channel, control=cc, value=0,
                                  time=end_ticks if i == 0 else 0))
    copy.tracks.append(track)
    return copy


def midi_to_wav(midi_path: str | os.PathLike[str], wav_path: str | os.PathLike[str], *,
                soundfont: str | os.PathLike[str] | None = None, sample_rate: int = 44100,
                gain: float = 0.5, tail: float = 2.0, timeout: float | None = None) -> Path:
    """Render ``midi_path`` to ``wav_path`` (16-bit stereo WAV) with FluidSynth; return the path.

    ``soundfont``: an .sf2 file (default: the first of ``SOUNDFONT_PATHS`` that exists);
    ``gain``: FluidSynth's master gain, 0 to 10 (its own default is 0.2); ``tail``: seconds
    rendered after the last event, for reverb and releases, 0 to 30; ``timeout``: seconds the
    render may take (default: 60 plus the music's length). Raises :class:`ConfigError` for a
    bad argument and :class:`OutputError` when FluidSynth or a SoundFont is missing, the MIDI
    file cannot be read, or the render fails; no partial WAV is left behind.
    """
    if sample_rate not in SAMPLE_RATES:
        raise ConfigError(f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}, got {sample_rate!r}")
    if not 0 < gain <= 10:
        raise ConfigError(f"gain must be a number in (0, 10], got {gain!r}")
    if not 0 <= tail <= 30:
        raise ConfigError(f"tail must be 0 to 30 seconds, got {tail!r}")
    source, target = Path(midi_path), Path(wav_path)
    folder = target.absolute().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {target}: {folder} is not a writable folder")
    program, font = fluidsynth_path(), find_soundfont(soundfont)
    try:
        midi = mido.MidiFile(source)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise OutputError(f"cannot read MIDI file {source}: {err}") from err
    length = midi.length
    limit = timeout if timeout is not None else 60.0 + 2.0 * (length + tail)
    tmp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    with tempfile.TemporaryDirectory(prefix="moodscore-render-") as scratch:
        copy = Path(scratch) / "render.mid"
        _terminated_copy(midi, tail).save(copy)
        cmd = [program, "-n", "-i", "-q", "-F", str(tmp), "-T", "wav", "-O", "s16",
               "-r", str(sample_rate), "-g", f"{gain:g}", str(font), str(copy)]
        started = time.perf_counter()
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  errors="replace", timeout=limit, check=False)
            _check_render(done, tmp, font)
            _trim(tmp, length + tail)
            os.replace(tmp, target)
        except subprocess.TimeoutExpired as err:
            raise OutputError(f"FluidSynth did not finish rendering {source} in {limit:.0f} s "
                              f"({time.perf_counter() - started:.0f} s spent)") from err
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _trim(path: Path, seconds: float) -> None:
    """Cut the WAV at ``seconds``: FluidSynth renders about two seconds more than it plays."""
    with wave.open(str(path)) as w:
        params = w.getparams()
        frames = w.readframes(min(w.getnframes(), round(seconds * w.getframerate())))
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(frames)


def _check_render(done: subprocess.CompletedProcess[str], tmp: Path, font: Path) -> None:
    # FluidSynth exits 0 even when it could not load the SoundFont (it then falls back to a
    # default one or renders silence), so its words are checked, not only its status.
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    said = " | ".join(lines[-4:])[:400]
    if any(f"Failed to load the SoundFont {font}" in line or "not a SoundFont or MIDI file" in line
           for line in lines):
        raise OutputError(f"FluidSynth could not load the SoundFont {font} (an .sf2 file is "
                          f"needed): {said}")
    if done.returncode != 0:
        raise OutputError(f"FluidSynth failed with exit status {done.returncode}: {said or 'no message'}")
    try:
        with wave.open(str(tmp)) as w:
            frames = w.getnframes()
    except (OSError, EOFError, wave.Error) as err:
        raise OutputError(f"FluidSynth wrote no readable WAV file: {err}; it said: {said or 'nothing'}") from err
    if frames == 0:
        raise OutputError(f"FluidSynth rendered no audio; it said: {said or 'nothing'}")
