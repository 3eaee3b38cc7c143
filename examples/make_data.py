"""Write seeded synthetic minute bars as CSV files for the example studies.

    python examples/make_data.py            # data/SPY.csv, data/QQQ.csv (200k bars each)
    python examples/make_data.py --bars 1e6 --dir /tmp/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

from admf.data import synthetic_bars, write_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=float, default=200_000)
    parser.add_argument("--dir", type=Path, default=Path("data"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for symbol, volatility in (("SPY", 0.0008), ("QQQ", 0.0011)):
        rows = write_csv(args.dir / f"{symbol}.csv",
                         synthetic_bars(symbol=symbol, bars=int(args.bars), seed=args.seed,
                                        start_price=400.0, volatility=volatility,
                                        start="2024-01-02", timeframe="1m"))
        print(f"{args.dir / (symbol + '.csv')}: {rows:,} bars")


if __name__ == "__main__":
    main()
