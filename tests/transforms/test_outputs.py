"""Publishing a staged output folder (transforms/run/outputs.py): the folders a run carries over
from the OUT it replaces."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from transforms.run import outputs


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _folder(path: Path, **files: str) -> None:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")


def test_publish__listed_folders_move_from_old_out__the_rest_of_old_out_goes(tmp_path):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "reports" / "c1", log="c1 night 1")
    _folder(out / "reports" / "c2", log="c2 night 1")
    _folder(out / "invoices", **{"INV-1.html": "issued night 1"})
    _folder(staged / "reports" / "c2", log="c2 night 2")
    (staged / "run.json").write_text("{}", encoding="utf-8")
    outputs.carry_later(staged, ["reports/c1"])
    outputs.publish(staged, out)
    assert _tree(out) == {"reports/c1/log": b"c1 night 1", "reports/c2/log": b"c2 night 2", "run.json": b"{}"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publish__nothing_rendered__the_reports_folder_is_made_for_the_carried_ones(tmp_path):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "reports" / "c1", log="c1")
    staged.mkdir()
    outputs.carry_later(staged, ["reports/c1"])
    outputs.publish(staged, out)
    assert _tree(out) == {"reports/c1/log": b"c1"}


def test_publish__again_after_an_interrupted_carry__moves_the_rest(tmp_path):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "reports" / "c2", log="c2")
    _folder(staged / "reports" / "c1", log="c1")          # moved before the interruption
    outputs.carry_later(staged, ["reports/c1", "reports/c2"])
    outputs.publish(staged, out)
    assert _tree(out) == {"reports/c1/log": b"c1", "reports/c2/log": b"c2"}


def test_publish__carried_folder_removed_by_hand_during_the_run__left_out_with_a_warning(tmp_path, caplog):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "reports" / "c1", log="c1")
    staged.mkdir()
    outputs.carry_later(staged, ["reports/c1", "reports/c9"])
    with caplog.at_level(logging.WARNING):
        outputs.publish(staged, out)
    assert _tree(out) == {"reports/c1/log": b"c1"}
    assert [r.getMessage() for r in caplog.records] == [
        f"unchanged folders no longer in {out}, left out of it (the next run writes them again): "
        "1, among them reports/c9"]


@pytest.mark.parametrize("listed", ["../elsewhere", "/etc", "reports/../../x"])
def test_publish__carry_list_naming_a_folder_outside_out__refused(tmp_path, listed):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "reports" / "c1", log="c1")
    staged.mkdir()
    (staged / outputs.CARRY_FILE).write_text(listed + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a folder inside OUT"):
        outputs.publish(staged, out)
    assert _tree(out) == {"reports/c1/log": b"c1"}


def test_swap__returns_the_replaced_out__publish_removes_it(tmp_path):
    out, staged = tmp_path / "out", tmp_path / ".out.run-2"
    _folder(out / "invoices", **{"INV-1.html": "issued night 1"})
    _folder(staged, **{"run.json": "{}"})
    replaced = outputs.swap(staged, out)
    assert replaced == tmp_path / ".out.old"
    assert _tree(replaced) == {"invoices/INV-1.html": b"issued night 1"}
    assert _tree(out) == {"run.json": b"{}"}
    _folder(tmp_path / ".out.run-3", **{"run.json": "{3}"})
    outputs.publish(tmp_path / ".out.run-3", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert _tree(out) == {"run.json": b"{3}"}


def test_swap__first_out__nothing_replaced(tmp_path):
    out, staged = tmp_path / "out", tmp_path / ".out.run-1"
    _folder(staged, **{"run.json": "{}"})
    assert outputs.swap(staged, out) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_removal__finish_waits_until_the_folder_is_gone(tmp_path):
    for i in range(200):
        _folder(tmp_path / "old" / f"c{i}", log="x", csv="y")
    removal = outputs.Removal(tmp_path / "old")
    removal.finish()
    assert not (tmp_path / "old").exists()


def test_removal__failed__finish_raises_what_the_removal_raised(tmp_path):
    removal = outputs.Removal(tmp_path / "never-made")
    with pytest.raises(FileNotFoundError, match="never-made"):
        removal.finish()
