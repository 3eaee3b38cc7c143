"""Names made from symbols: a container name and a file name for any ticker,
escaped so that two different symbols never share one (issue 15, item 8)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from admf.data._paths import file_name
from admf.runtime.container import Container, safe_name

TICKERS = ["BRK.B", "BF-B", "^GSPC", "EURUSD=X", "BTC/USD", "ES=F", "RDS.A", "A%2EB", "A.B"]
symbols = st.text(min_size=1, max_size=12)


def test_real_tickers_make_valid_container_names() -> None:
    for ticker in TICKERS:
        name = f"source_{safe_name(ticker)}"
        assert Container(name).name == name
        assert "." not in name and not set("*?[]/") & set(name)
    assert safe_name("BRK.B") == "BRK%2EB"
    assert safe_name("A%2EB") == "A%252EB"  # the escape is escaped, so it cannot collide
    assert safe_name("EURUSD=X") == "EURUSD=X"


def test_file_names_keep_what_a_file_can_hold() -> None:
    # hand-worked: only '/', '%' and the Windows-reserved characters change
    assert [file_name(t) for t in TICKERS] == [
        "BRK.B", "BF-B", "^GSPC", "EURUSD=X", "BTC%2FUSD", "ES=F", "RDS.A", "A%252EB", "A.B"]
    assert file_name("..") == "%2E%2E" and file_name(".") == "%2E"


@given(symbols, symbols)
def test_escaping_is_injective(a: str, b: str) -> None:
    if a != b:
        assert safe_name(a) != safe_name(b)
        assert file_name(a) != file_name(b)


@given(symbols)
def test_escaped_names_are_safe(symbol: str) -> None:
    name = safe_name(symbol)
    assert "." not in name and not set("*?[]/\\ ") & set(name) and name.isprintable()
    stored = file_name(symbol)
    assert not set('/\\:*?"<>|') & set(stored) and stored not in (".", "..")
    assert stored.isprintable()
