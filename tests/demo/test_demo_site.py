"""The page's files and state over HTTP, and the committed build that ``web/build.sh`` made."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support import WsClient, wait_until
from websockets.datastructures import Headers
from websockets.http11 import Request

from moodscore.demo.assets import SOUNDFONT, STATIC, gm_subset
from moodscore.demo.live import page_soundfont
from moodscore.demo.site import Site
from moodscore.engine.template import Template
from moodscore.errors import ConfigError

WEB = Path(__file__).parents[2] / "web"
MAX_STATIC_BYTES = 6_000_000  # the page must stay quick to load and cheap to ship


def get(site: Site, path: str, **headers: str):
    return site(None, Request(path, Headers(headers)))


@pytest.fixture
def site() -> Site:
    return Site(lambda: {"playing": True}, SOUNDFONT)


def test_files_state_and_soundfont_are_served_with_their_types(site):
    index = get(site, "/")
    assert index.status_code == 200 and index.headers["Content-Type"].startswith("text/html")
    assert b'src="app.js"' in index.body and index.headers["Content-Length"] == str(len(index.body))
    assert get(site, "/app.js?v=1").headers["Content-Type"].startswith("text/javascript")
    assert json.loads(get(site, "/state.json").body) == {"playing": True}
    font = get(site, "/soundfont")
    assert font.body == SOUNDFONT.read_bytes() and font.body[8:12] == b"sfbk"
    assert site.served == {"/": 1, "/app.js": 1, "/state.json": 1, "/soundfont": 1}


@pytest.mark.parametrize("path", ["/../site.py", "/%2e%2e/site.py", "/vendor/../../live.py", "/nothing.js",
                                  "/vendor/"])
def test_nothing_outside_the_static_folder_is_served(site, path):
    response = get(site, path)
    assert response.status_code == 404 and b"no such file" in response.body


def test_a_websocket_upgrade_goes_on_to_the_protocol(site):
    assert get(site, "/ws", Upgrade="websocket", Connection="Upgrade") is None


def test_the_committed_build_is_complete_and_matches_its_manifest():
    build = json.loads((STATIC / "BUILD.json").read_text())
    for name in ("index.html", "app.js", "style.css", "vendor/spessasynth_processor.min.js",
                 "vendor/LICENSES.txt", "soundfont/moodscore-gm.sf3", "soundfont/README.txt"):
        assert name in build["files"], f"{name} missing from BUILD.json: run web/build.sh"
    for name, info in build["files"].items():
        data = (STATIC / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (info["bytes"], info["sha256"]), \
            f"{name} differs from what web/build.sh wrote: run it again"
    assert build["total_bytes"] < MAX_STATIC_BYTES
    lock = json.loads((WEB / "package-lock.json").read_text())["packages"]
    for name, version in build["packages"].items():  # built from the locked versions
        assert lock[f"node_modules/{name}"]["version"] == version, name
    assert (STATIC / "index.html").read_bytes() == (WEB / "src/index.html").read_bytes()


def test_the_soundfont_holds_every_program_the_template_plays():
    """The SF3's preset headers (RIFF 'pdta'/'phdr'): GM bank 0 programs of the template and of
    every style, and the styles' drum kits."""
    data = SOUNDFONT.read_bytes()
    at = data.index(b"phdr") + 8
    size = int.from_bytes(data[at - 4:at], "little")
    presets = set()
    for i in range(size // 38 - 1):  # 38-byte records, the last one is the terminal 'EOP'
        record = data[at + 38 * i: at + 38 * (i + 1)]
        presets.add((int.from_bytes(record[22:24], "little"), int.from_bytes(record[20:22], "little")))
    wanted = gm_subset(Template())
    assert {(0, p) for p in wanted["programs"]} | {(128, k) for k in wanted["drum_kits"]} <= presets
    assert {0, 25, 48} <= set(wanted["drum_kits"])  # the styles' kits: standard, TR-808, orchestra
    assert json.loads((STATIC / "BUILD.json").read_text())["soundfont"]["programs"] == wanted["programs"]


def test_page_soundfont_is_the_packaged_one_unless_chosen(tmp_path):
    assert page_soundfont() == SOUNDFONT
    chosen = tmp_path / "mine.sf2"
    chosen.write_bytes(b"RIFF....sfbk")
    assert page_soundfont(chosen) == chosen
    with pytest.raises(ConfigError, match="is not a file"):
        page_soundfont(tmp_path / "nope.sf2")


def test_a_running_demo_serves_its_page_and_protocol_on_one_port(demo_server):
    with urllib.request.urlopen(demo_server.url, timeout=10) as response:
        assert b"moodscore demo" in response.read()
    with urllib.request.urlopen(demo_server.url + "state.json", timeout=10) as response:
        state = json.loads(response.read())
    assert state["playing"] and state["transition"] == "bar" and "victory" in state["stingers"]
    assert state["soundfont"]["name"] == SOUNDFONT.name and state["meter"] == "4/4"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(demo_server.url + "missing.js", timeout=10)
    assert missing.value.code == 404
    client = WsClient(demo_server.port)  # the engine's protocol on the same port
    try:
        assert client.request({"type": "subscribe", "events": ["midi", "bar"]}) == {"type": "ack"}
        assert client.request({"type": "va", "valence": 2, "arousal": 0})["type"] == "error"
        wait_until(lambda: client.of("midi"), 15, "midi events")
        notes = [d for _, e in client.of("midi") for d in e["data"] if d[0] & 0xF0 == 0x90]
        assert notes, "the midi events carry the notes played"
    finally:
        client.close()
    assert demo_server.close() == 0
    summary = demo_server.summary()
    assert summary["midi_messages"] > 0 and summary["rejected"] == {"schema": 1}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moodscore.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_a_port_in_use_is_said_with_the_option_to_change_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("demo", "--no-browser", "--model", "lstm", "--port", str(port))
    assert done.returncode == 2
    assert f"127.0.0.1:{port} is in use; pick another with --port" in done.stderr, done.stderr


@pytest.mark.parametrize("args, says", [
    (["--port", "70000"], "--port must be 1 to 65535, got 70000"),
    (["--soundfont", "/nonexistent.sf2"], "--soundfont /nonexistent.sf2 is not a file"),
    (["--render", "/nonexistent/out.wav"], "folder /nonexistent does not exist"),
    (["--render", "out.wav", "--seconds", "3"], "--seconds must be an integer >= 8, got 3"),
])
def test_bad_options_get_one_line_and_status_2(args, says):
    done = run_cli("demo", "--no-browser", "--model", "lstm", *args)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
