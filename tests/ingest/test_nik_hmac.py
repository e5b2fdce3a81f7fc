"""The NIK's hash is one function, HMAC-SHA256 with the key, whoever computes it: `Pseudonymiser.pseudonym`,
the C extension (with the CPU's SHA instructions and without) and DuckDB's SQL, which the judge falls back
to where the extension is not built."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cakupan.ingest import _nik_hmac, judge as judging
from cakupan.ingest.load import _villages
from cakupan.ingest.nik_hmac import NikHasher
from cakupan.ingest.pseudonymise import Pseudonymiser
from delivery_builder import PESERTA_HEADER, csv_bytes, peserta

NIKS = st.lists(st.one_of(st.none(), st.from_regex(r"[0-9]{16}", fullmatch=True)), max_size=40)
# Keys shorter than a block, exactly one, and longer (hashed first, RFC 2104), in any script.
KEYS = st.text(min_size=1, max_size=90).filter(lambda key: key.strip())


@pytest.fixture(params=[False, True], ids=["portable", "sha-instructions"])
def sha_instructions(request):
    if not _nik_hmac.use_sha_instructions(request.param) and request.param:
        pytest.skip("this CPU has no SHA instructions")
    yield request.param
    _nik_hmac.use_sha_instructions(True)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=KEYS, niks=NIKS, start=st.integers(0, 5))
def test_the_extension_hashes_as_the_pseudonymiser_does(sha_instructions, key, niks, start):
    pseudonymiser = Pseudonymiser(key)
    hasher = NikHasher.build(pseudonymiser.hmac_pads())
    column = pa.array(["0000000000000000"] * start + niks, pa.string()).slice(start)  # a slice, as batches are
    assert hasher.hash_column(column).to_pylist() == [None if n is None else pseudonymiser.pseudonym(n)
                                                      for n in niks]


def test_a_value_that_is_not_a_nik_is_refused():
    hasher = NikHasher.build(Pseudonymiser("key").hmac_pads())
    with pytest.raises(ValueError, match="not 16"):
        hasher.hash_column(pa.array(["1373020101900001", "137302010190000"]))


def test_the_judge_hashes_the_same_with_the_extension_and_in_duckdb(empty_warehouse, tmp_path, pseudonymiser):
    rows = [peserta(kpj=f"1000000000{i}", nik=f"137302010190000{i}") for i in range(1, 8)]
    rows[2] = peserta(kpj="10000000003", nik="13730201019")  # rejected: its NIK is never hashed
    path = tmp_path / "peserta.csv"
    path.write_bytes(csv_bytes(PESERTA_HEADER, rows))
    positions = [PESERTA_HEADER.index(c) if c in PESERTA_HEADER else -1 for c in judging.PESERTA.columns]
    digests = {}
    for extension in (True, False):
        judge = judging.Judge(_villages(empty_warehouse), pseudonymiser.hmac_pads(), tmp_path,
                              hash_in_duckdb=not extension)
        batches = judge.judge_csv(path, ",", positions, len(PESERTA_HEADER), judging.PESERTA,
                                  judging.DeliveryStamp(1, dt.date(2026, 11, 20)))
        table = pa.Table.from_batches(list(batches)).sort_by("row_number")
        digests[extension] = table.column("nik_hash").to_pylist()
        judge.close()
    assert digests[True] == digests[False] == [
        None if i == 3 else pseudonymiser.pseudonym(f"137302010190000{i}") for i in range(1, 8)]
