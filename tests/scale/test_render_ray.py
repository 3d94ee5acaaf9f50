"""moodscore render --ray: cue sheets as Ray tasks on a local cluster, the same bytes as one at a time."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")  # the scale extra; CI installs it

from moodscore.scale.render import render_sheets  # noqa: E402

EXAMPLES = Path(__file__).parents[2] / "examples" / "cue_sheet"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_sheets_rendered_as_ray_tasks_have_the_bytes_of_one_at_a_time(cluster, tmp_path):
    sheets = []
    for name in ("reel1.json", "reel2.otio"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
        sheets.append(tmp_path / name)
    written = render_sheets(sheets, tmp_path / "out", model="lstm", seed=3)
    assert [p.name for p in written] == ["reel1.mid", "reel2.mid"]
    for sheet, out in zip(sheets, written):
        alone = tmp_path / f"alone-{sheet.stem}.mid"
        done = subprocess.run([sys.executable, "-m", "moodscore.cli", "render", str(sheet), "-o", str(alone),
                               "--model", "lstm", "--seed", "3"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == alone.read_bytes() and len(alone.read_bytes()) > 1000


def test_a_bad_sheet_is_refused_before_any_task(cluster, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"frame_rate": "24", "cues": [{"cue": "1M01", "in": "00:00:10:00", "out": "00:00:05:00", '
                   '"mood": "calm"}]}')
    shutil.copy(EXAMPLES / "reel1.json", tmp_path / "reel1.json")
    done = subprocess.run([sys.executable, "-m", "moodscore.cli", "render", "--ray", str(tmp_path / "reel1.json"),
                           str(bad), "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "1M01" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
