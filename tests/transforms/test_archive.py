"""The document archive's folders (transforms/documents/archive.py): a committed run's copies
move from `.incoming/<run>/<series>/` into `<series>/<issue date>/`, once, never overwriting."""

from datetime import date
from pathlib import Path

import pytest

from transforms.documents import archive

DAY = date(2026, 12, 6)


def incoming(root: Path, run_id: int, files: dict[str, bytes]) -> None:
    """The copies a run's workers would have written before its commit."""
    for name, data in files.items():
        folder = archive.incoming(root, run_id) / archive.series_of(name.rsplit(".", 1)[0])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_store__each_series_to_its_day_folder__run_marked__nothing_left_incoming(tmp_path):
    incoming(tmp_path, 7, {"INV-2026-000001.pdf": b"pdf 1", "INV-2026-000001.xml": b"xml 1",
                           "CN-2026-000001.pdf": b"credit 1"})
    assert archive.store(tmp_path, 7, DAY) == 3
    assert tree(tmp_path) == {".runs/7": b"archived\n",
                              "CN-2026/2026-12-06/CN-2026-000001.pdf": b"credit 1",
                              "INV-2026/2026-12-06/INV-2026-000001.pdf": b"pdf 1",
                              "INV-2026/2026-12-06/INV-2026-000001.xml": b"xml 1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runs", "CN-2026", "INV-2026"]
    assert archive.store(tmp_path, 7, DAY) == 0      # a retried step after it was done


def test_store__second_run_of_the_day__its_files_join_the_day_folder(tmp_path):
    incoming(tmp_path, 7, {"INV-2026-000001.pdf": b"pdf 1"})
    archive.store(tmp_path, 7, DAY)
    incoming(tmp_path, 8, {"INV-2026-000002.pdf": b"pdf 2"})
    assert archive.store(tmp_path, 8, DAY) == 1
    incoming(tmp_path, 9, {"INV-2026-000003.pdf": b"pdf 3"})
    assert archive.store(tmp_path, 9, date(2026, 12, 7)) == 1
    assert tree(tmp_path) == {".runs/7": b"archived\n", ".runs/8": b"archived\n", ".runs/9": b"archived\n",
                              "INV-2026/2026-12-06/INV-2026-000001.pdf": b"pdf 1",
                              "INV-2026/2026-12-06/INV-2026-000002.pdf": b"pdf 2",
                              "INV-2026/2026-12-07/INV-2026-000003.pdf": b"pdf 3"}


def test_store__number_archived_with_other_bytes__conflict__nothing_overwritten_or_marked(tmp_path):
    incoming(tmp_path, 7, {"INV-2026-000001.pdf": b"first warehouse"})
    archive.store(tmp_path, 7, DAY)
    incoming(tmp_path, 8, {"INV-2026-000001.pdf": b"second warehouse"})
    with pytest.raises(archive.ArchiveConflict, match="INV-2026-000001.pdf exists with other content"):
        archive.store(tmp_path, 8, DAY)
    assert (tmp_path / "INV-2026/2026-12-06/INV-2026-000001.pdf").read_bytes() == b"first warehouse"
    assert not (tmp_path / ".runs" / "8").exists()


def test_store__repeated_after_one_series_was_placed__places_the_rest(tmp_path):
    incoming(tmp_path, 7, {"CN-2026-000001.pdf": b"credit 1", "INV-2026-000001.pdf": b"pdf 1"})
    archive._place(archive.incoming(tmp_path, 7) / "CN-2026", tmp_path / "CN-2026" / "2026-12-06")  # then killed
    assert archive.store(tmp_path, 7, DAY) == 1
    assert tree(tmp_path) == {".runs/7": b"archived\n",
                              "CN-2026/2026-12-06/CN-2026-000001.pdf": b"credit 1",
                              "INV-2026/2026-12-06/INV-2026-000001.pdf": b"pdf 1"}


def test_store__run_with_documents_but_no_copies__fails_without_marking(tmp_path):
    with pytest.raises(RuntimeError, match="run 7 issued documents but its copies are not in"):
        archive.store(tmp_path, 7, DAY)
    assert not (tmp_path / ".runs").exists()
