"""The sessions bench's host-only figure: the host's work on a virtual clock, repeatable."""
from moodscore.host.bench import host_work


def test_host_work_is_a_positive_figure_and_the_same_output_every_run():
    first, digest = host_work(4, 12.0)
    again, same = host_work(4, 12.0)
    other, different = host_work(4, 12.0, seed=2)  # other moods: other music
    assert first > 0 and again > 0 and other > 0
    assert digest == same
    assert digest != different
