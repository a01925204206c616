"""The readers' date and number parsers against the stock kernels, on the shapes exports use.

Issue 12 item 7: ``pyarrow.compute.strptime``, ``pandas.to_datetime(format=...)`` and
``pyarrow.compute.cast`` / ``pandas.to_numeric`` also parse text columns; the readers keep
hand-written parsing only where these lose on speed or cannot express the rule. Each column
is one text column as the CSV reader hands it over (Arrow, chunks of 64K values), read from a
cached Parquet file in the setup, so only the parsing is timed. Contenders, in the same run:

Dates (every contender must end with the same rows parsed, the same rows rejected):

- ``ours``: ``io._dates._convert_dates``, the reader's path, *including* the day/month order
  detection (the stock kernels are handed the format instead);
- ``ours, dayfirst given``: the same with ``dayfirst=`` set (no detection);
- ``arrow strptime+check``: ``pc.strptime(format, error_is_null=True)`` followed by the
  check it needs (Arrow rolls impossible dates over: 31/02 -> 2 March; the parsed date is
  formatted back and compared with the text; with ``%z``, the local part), which is how
  the readers parsed ``date_format=`` before this benchmark;
- ``pandas to_datetime``: ``pd.to_datetime(text, format=..., errors="coerce")`` on the same
  text (the conversion to pandas included; pandas rejects 31/02 itself), which is how they
  parse ``date_format=`` now. Neither stock kernel checks the +-14:00 offset limit.

Numbers: ``ours`` (``io._numbers._convert_numbers``, the decimal mark decided from the data),
``ours, marks given`` (``decimal=`` and ``thousands=`` set, no voting) against ``pc.cast(float64)`` and ``pd.to_numeric(errors="coerce")``, each after the text
replacement its shape needs (decimal comma to point, thousands marks removed); the stock
side is told the marks and does not check the 3-digit grouping. ``pc.cast`` raises on the
first bad value instead of reporting rows (the shapes with bad values say "raises").

Before timing, a 200,000-value sample of every shape is parsed by every contender and the
rows each one parses differently from ``ours`` are counted (``differs`` column): a stock
kernel that is faster but reads different dates is not a replacement.

Run: ``python benchmarks/bench_read_parsers.py --lines 1e6,1e7`` (``--lines`` is the number
of values; the default is both). ``--shapes dmy_slash,plain`` keeps some shapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from _common import BENCH_DIR, DATA_DIR, Result, measure, parse_args, report, timed

# imported here, not in the timed calls: the first call would pay for the import
from loyalty_metrics.io._arrow_text import _null_token_mask
from loyalty_metrics.io._dates import _convert_dates
from loyalty_metrics.io._numbers import _convert_numbers
from loyalty_metrics.io._options import _Options

_CHUNK = 65_536
_NA = np.iinfo(np.int64).min

#: Date shapes: the strptime format a stock kernel is handed, and how values are written.
DATE_SHAPES = {
    "iso_date": "%Y-%m-%d",
    "iso_offset": "%Y-%m-%dT%H:%M:%S%z",
    "dmy_slash": "%d/%m/%Y",
    "mdy_slash": "%m/%d/%Y",
    "dmy_dot": "%d.%m.%Y",
    "dmy_mixed": "%d/%m/%Y",  # unpadded days/months, 3% blank, 1% 31/02, 1% garbage
}
#: Number shapes: decimal mark and thousands mark of the text.
NUMBER_SHAPES = {
    "plain": (".", ""),  # 1234.5, -12.99
    "comma_decimal": (",", ""),  # 1234,5
    "thousands": (".", ","),  # 1,234.50
    "thousands_comma": (",", "."),  # 1.234,50
    "signed_mixed": (".", ""),  # +12.50 / -12.50, 3% blank, 1% "€12.50" (rejected by all)
}


# ----------------------------------------------------------------------------- data


def _text(values: np.ndarray) -> pa.ChunkedArray:
    arr = pa.array(values.astype(object), type=pa.string())
    return pa.chunked_array([arr.slice(i, _CHUNK) for i in range(0, len(arr), _CHUNK)])


def _z(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(values.astype("str"), width)


def make_dates(shape: str, n: int, seed: int = 0) -> pa.ChunkedArray:
    """``n`` text dates of ``shape`` (2019-2026; fixed seed)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(17_897, 20_819, n).astype("datetime64[D]")  # 2019-01-01 .. 2026-12-31
    month = days.astype("datetime64[M]")
    y = month.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month.astype(np.int64) % 12 + 1
    d = (days - month).astype(np.int64) + 1
    ys, ms, ds = y.astype("str"), _z(m, 2), _z(d, 2)
    add = np.strings.add
    if shape == "iso_date":
        out = add(add(add(add(ys, "-"), ms), "-"), ds)
    elif shape == "iso_offset":
        secs = rng.integers(0, 86_400, n)
        hms = add(
            add(add(add(_z(secs // 3600, 2), ":"), _z(secs // 60 % 60, 2)), ":"), _z(secs % 60, 2)
        )
        offset = np.array(["+00:00", "+01:00", "+02:00", "-05:00", "+05:30", "Z"])[
            rng.integers(0, 6, n)
        ]
        out = add(add(add(add(add(add(ys, "-"), ms), "-"), ds), add("T", hms)), offset)
    elif shape in ("dmy_slash", "dmy_dot"):
        sep = "/" if shape == "dmy_slash" else "."
        out = add(add(add(add(ds, sep), ms), sep), ys)
    elif shape == "mdy_slash":
        out = add(add(add(add(ms, "/"), ds), "/"), ys)
    elif shape == "dmy_mixed":
        out = add(add(add(add(d.astype("str"), "/"), m.astype("str")), "/"), ys).astype(object)
        pick = rng.random(n)
        out[pick < 0.03] = ""
        out[(pick >= 0.03) & (pick < 0.04)] = "31/02/2024"
        out[(pick >= 0.04) & (pick < 0.05)] = "soon"
    else:
        raise ValueError(f"unknown date shape {shape!r}")
    return _text(np.asarray(out))


def make_numbers(shape: str, n: int, seed: int = 0) -> pa.ChunkedArray:
    """``n`` text amounts of ``shape`` (log-normal, 4% negative, two decimals)."""
    rng = np.random.default_rng(seed)
    cents = np.round(rng.lognormal(4.0, 1.6, n) * 100).astype(np.int64)
    cents[rng.random(n) < 0.04] *= -1
    units, frac = np.abs(cents) // 100, _z(np.abs(cents) % 100, 2)
    sign = np.where(cents < 0, "-", "")
    add = np.strings.add
    decimal, thousands = NUMBER_SHAPES[shape]
    whole = units.astype("str")
    if thousands:
        whole = np.array([f"{u:,}".replace(",", thousands) for u in units.tolist()])
    out = add(add(add(sign, whole), decimal), frac)
    if shape == "signed_mixed":
        out = add(np.where(cents < 0, "-", "+"), add(add(whole, "."), frac)).astype(object)
        pick = rng.random(n)
        out[pick < 0.03] = ""
        out[(pick >= 0.03) & (pick < 0.04)] = "€12.50"
    return _text(np.asarray(out))


def column_file(kind: str, shape: str, n: int) -> str:
    """Path of a cached Parquet file holding the column (generated once under ``_data/``)."""
    import pyarrow.parquet as pq

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"parsers_{kind}_{shape}_{n}.parquet"
    if not path.exists():
        make = make_dates if kind == "dates" else make_numbers
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.table({"v": make(shape, n)}), tmp, row_group_size=1_000_000)
        tmp.replace(path)
    return str(path)


def load(path: str) -> pa.ChunkedArray:
    """The column of ``path``, re-chunked as the CSV reader hands columns over."""
    import pyarrow.parquet as pq

    col = pq.read_table(path).column("v").combine_chunks()
    return pa.chunked_array([col.slice(i, _CHUNK) for i in range(0, len(col), _CHUNK)])


# ----------------------------------------------------------------------------- contenders
# Each returns (values, bad, blank): int64 ns (or float64) with NaT/NaN where not parsed,
# the rows rejected, the blank rows.


def ours_dates(arr: pa.ChunkedArray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ns, bad, blank = _convert_dates({"d": arr}, ["d"], _Options(), {}, "bench", "orders")["d"]
    return ns.view(np.int64), bad, blank


def ours_dates_given(arr: pa.ChunkedArray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    opts = _Options(dayfirst=not fmt.startswith("%m"))
    ns, bad, blank = _convert_dates({"d": arr}, ["d"], opts, {}, "bench", "orders")["d"]
    return ns.view(np.int64), bad, blank


def arrow_dates(arr: pa.ChunkedArray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    # unit "s": formatted back, a nanosecond timestamp's %S would carry 9 decimals
    parsed = pc.strptime(s, format=fmt, unit="s", error_is_null=True)

    def canonical(text: pa.ChunkedArray) -> pa.ChunkedArray:  # leading zeros and case aside
        return pc.replace_substring_regex(pc.utf8_lower(text), r"(^|\D)0+(\d)", r"\1\2")

    if "%z" in fmt:  # a UTC time formatted back loses the offset: compare the local time
        local = pc.replace_substring_regex(s, r"(Z|[+-]\d{2}:?\d{2})$", "")
        offset = pc.strptime(local, format=fmt.replace("%z", ""), unit="s", error_is_null=True)
        back = pc.strftime(offset, format=fmt.replace("%z", ""))
        ok = pc.equal(canonical(back), canonical(local))
    else:
        ok = pc.equal(canonical(pc.strftime(parsed, format=fmt)), canonical(s))
    parsed = pc.if_else(ok, parsed, None).cast(pa.timestamp("ns"))
    ns = np.asarray(pc.fill_null(parsed.cast(pa.int64()), _NA).to_numpy(zero_copy_only=False))
    return ns, (ns == _NA) & ~blank, blank


def pandas_dates(arr: pa.ChunkedArray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    parsed = pd.to_datetime(pd.Series(s.to_pandas()), format=fmt, errors="coerce", utc="%z" in fmt)
    if "%z" in fmt:
        parsed = parsed.dt.tz_localize(None)
    ns = parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return ns, (ns == _NA) & ~blank, blank


def ours_numbers(arr: pa.ChunkedArray, shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _convert_numbers({"x": arr}, {"x": "number"}, _Options(), {})["x"]


def ours_numbers_given(
    arr: pa.ChunkedArray, shape: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    decimal, thousands = NUMBER_SHAPES[shape]
    opts = _Options(decimal=decimal, thousands=thousands)
    return _convert_numbers({"x": arr}, {"x": "number"}, opts, {})["x"]


def _normalised(arr: pa.ChunkedArray, shape: str) -> pa.ChunkedArray:
    decimal, thousands = NUMBER_SHAPES[shape]
    s = pc.utf8_trim_whitespace(arr)
    if thousands:
        s = pc.replace_substring(s, thousands, "")
    if decimal != ".":
        s = pc.replace_substring(s, decimal, ".")
    return s


def arrow_numbers(arr: pa.ChunkedArray, shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = _normalised(arr, shape)
    blank = np.asarray(pc.is_null(s).to_numpy(zero_copy_only=False))
    values = s.cast(pa.float64()).to_numpy()  # raises on the first bad value
    return values, np.zeros(len(values), dtype=bool), blank


def pandas_numbers(arr: pa.ChunkedArray, shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = _normalised(arr, shape)
    blank = _null_token_mask(s)
    values = pd.to_numeric(pd.Series(s.to_pandas()), errors="coerce").to_numpy(np.float64)
    return values, np.isnan(values) & ~blank, blank


DATE_CONTENDERS: dict[str, Callable] = {
    "ours": ours_dates,
    "ours, dayfirst given": ours_dates_given,
    "arrow strptime+check": arrow_dates,
    "pandas to_datetime": pandas_dates,
}
NUMBER_CONTENDERS: dict[str, Callable] = {
    "ours": ours_numbers,
    "ours, marks given": ours_numbers_given,
    "arrow cast": arrow_numbers,
    "pandas to_numeric": pandas_numbers,
}


# ----------------------------------------------------------------------------- running


def differs(kind: str, shape: str) -> dict[str, str]:
    """Rows each contender reads differently from ``ours`` on a 200,000-value sample."""
    n = 200_000
    if kind == "dates":
        arr, arg, contenders = make_dates(shape, n, seed=1), DATE_SHAPES[shape], DATE_CONTENDERS
    else:
        arr, arg, contenders = make_numbers(shape, n, seed=1), shape, NUMBER_CONTENDERS
    ref_values, ref_bad, _ = contenders["ours"](arr, arg)
    out = {}
    for label, fn in contenders.items():
        try:
            values, bad, _ = fn(arr, arg)
        except (pa.ArrowInvalid, ValueError) as exc:
            out[label] = f"raises ({type(exc).__name__})"
            continue
        same = (bad == ref_bad) & (
            np.isclose(values, ref_values, rtol=0, atol=1e-9, equal_nan=True)
            if kind == "numbers"
            else (values == ref_values) | bad
        )
        out[label] = f"{int((~same).sum())} rows"
    return out


def run(kind: str, shape: str, n: int, repeat: int) -> None:
    table = DATE_CONTENDERS if kind == "dates" else NUMBER_CONTENDERS
    arg = repr(DATE_SHAPES[shape] if kind == "dates" else shape)
    with timed(f"{kind} {shape}: data (cached) and the agreement check"):
        # both in child processes: a child's peak RSS starts from its parent's at the fork
        prepare = "from bench_read_parsers import column_file, differs\n"
        prepare += f"print(json.dumps([column_file({kind!r}, {shape!r}, {n}), "
        prepare += f"differs({kind!r}, {shape!r})]))"
        done = subprocess.run(
            [sys.executable, "-c", "import json\n" + prepare],
            cwd=BENCH_DIR, capture_output=True, text=True, check=True,
        )  # fmt: skip
        path, agreement = json.loads(done.stdout.splitlines()[-1])
    setup = (
        f"from bench_read_parsers import load, {', '.join(f.__name__ for f in table.values())}\n"
    )
    setup += f"arr = load({path!r})\n"
    results: list[Result] = []
    for label, fn in table.items():
        if agreement[label].startswith("raises"):
            print(f"  {label}: {agreement[label]} on this shape; not timed")
            continue
        results.append(
            measure(
                f"{label} (differs: {agreement[label]})",
                f"out = {fn.__name__}(arr, {arg})",
                setup=setup,
                repeat=repeat,
            )
        )
    report(f"{kind} {shape!r}, {n:,} values", results, reference=results[0])


def main() -> int:
    def extra(parser) -> None:
        parser.add_argument(
            "--shapes",
            help="Comma-separated shapes to run (default: all): "
            + ", ".join([*DATE_SHAPES, *NUMBER_SHAPES]),
        )

    args = parse_args(__doc__, default_lines=(1_000_000, 10_000_000), extra=extra)
    wanted = set(args.shapes.split(",")) if args.shapes else None
    for n in args.lines:
        print(f"\n=== {n:,} values ===")
        for kind, shapes in (("dates", DATE_SHAPES), ("numbers", NUMBER_SHAPES)):
            for shape in shapes:
                if wanted is None or shape in wanted:
                    run(kind, shape, n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
