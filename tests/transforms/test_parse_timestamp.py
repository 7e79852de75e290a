"""parse.parse_timestamp: ISO 8601 cells to UTC instants, cell by cell, with exact values."""

import pandas as pd

from transforms.validate import parse

CELLS = {
    "2026-01-05T09:00": "2026-01-05 08:00:00",            # local time in Europe/Berlin (UTC+1)
    "2026-01-05 09:00:30.75": "2026-01-05 08:00:30",      # space separator, fraction dropped
    "2026-01-05T09:00Z": "2026-01-05 09:00:00",
    "2026-01-05T09:00-0530": "2026-01-05 14:30:00",
    "2026-01-05T09:00+01:00": "2026-01-05 08:00:00",
    "2026-03-29T02:30": "2026-03-29 01:30:00",            # DST gap: the offset before it (+1)
    "2026-10-25T02:30": "2026-10-25 00:30:00",            # DST overlap: the first 02:30 (+2)
    "2026-01-05T09:00+24:00": "bad",
    "2026-01-05T09:00+0960": "bad",
    "2026-02-30T09:00": "bad",
    "2026-01-05": "bad",
    "2026-01-05T25:00": "bad",
    "٢٠٢٦-01-05T09:00": "bad",
    "": "blank",
    None: "blank",
}


def test_parse_timestamp__every_shape__exact_instant_or_bad_or_blank():
    cells = pd.Series(list(CELLS), dtype=object, index=range(10, 10 + len(CELLS)))
    values, bad = parse.parse_timestamp(cells, "Europe/Berlin")
    assert str(values.dtype) == "datetime64[s, UTC]"
    assert list(values.index) == list(cells.index) and list(bad.index) == list(cells.index)
    got = {cell: ("bad" if is_bad else "blank" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S"))
           for cell, value, is_bad in zip(CELLS, values, bad)}
    assert got == CELLS
    assert values[bad.to_numpy()].isna().all()


def test_parse_timestamp__utc__local_time_is_utc():
    values, bad = parse.parse_timestamp(pd.Series(["2026-03-29T02:30", "2026-01-05T09:00+02:00"]), "UTC")
    assert [v.isoformat() for v in values] == ["2026-03-29T02:30:00+00:00", "2026-01-05T07:00:00+00:00"]
    assert not bad.any()
