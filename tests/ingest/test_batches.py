"""The night's deliveries are loaded in one batch a core: about equal bytes each, a branch's dates together."""

from __future__ import annotations

from cakupan.transform.nightly import batch_exports


def _delivery(root, branch: str, date: str, size: int) -> str:
    folder = root / branch / date
    folder.mkdir(parents=True)
    (folder / "peserta.csv").write_bytes(b"x" * size)
    (folder / "_manifest.json").write_bytes(b"{}")  # 2 bytes, counted like any file
    return str(folder)


def test_batches_even_out_by_size_and_keep_each_branch_together_in_date_order(tmp_path):
    folders = [
        _delivery(tmp_path, "JAKARTA", "2026-11-19", 598),  # 1,200 bytes over two dates
        _delivery(tmp_path, "JAKARTA", "2026-11-20", 598),
        _delivery(tmp_path, "BANDUNG", "2026-11-20", 698),
        _delivery(tmp_path, "SOLOK", "2026-11-20", 298),
        _delivery(tmp_path, "PADANG", "2026-11-20", 198),
        _delivery(tmp_path, "SAWAHLUNTO", "2026-11-20", 98),
    ]

    batches = batch_exports(folders, batches=2)

    # Largest first onto the lighter batch: JAKARTA 1200 | BANDUNG 700, SOLOK 300, PADANG 200 | SAWAHLUNTO 100.
    names = [[f"{f.split('/')[-2]}/{f.split('/')[-1]}" for f in batch] for batch in batches]
    assert names == [
        ["JAKARTA/2026-11-19", "JAKARTA/2026-11-20", "SAWAHLUNTO/2026-11-20"],
        ["BANDUNG/2026-11-20", "PADANG/2026-11-20", "SOLOK/2026-11-20"],
    ]


def test_no_more_batches_than_branches_and_none_for_no_delivery(tmp_path):
    folders = [_delivery(tmp_path, "SOLOK", "2026-11-19", 10), _delivery(tmp_path, "SOLOK", "2026-11-20", 10)]
    assert batch_exports(folders, batches=8) == [folders]
    assert batch_exports([], batches=8) == []
