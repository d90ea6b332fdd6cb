"""Apple passes built and signed per second on one core, beside the raw `cryptography` signing rate
measured in the same run. Target (issue 4): >= 1,000 passes/s.
Usage: python bench/passes.py [--seconds 5]"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import write_result
from shared.config import Settings
from wallet.dev_certs import ensure_dev_chain
from wallet.pkpass import PassData, build_pkpass
from wallet.signing import signer_for


def rate(work, seconds: float) -> float:  # type: ignore[no-untyped-def]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work(done)
        done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # one core
    settings = Settings(var_dir=Path(tempfile.mkdtemp(prefix="bench-passes-")))
    creds = ensure_dev_chain(settings)
    signer = signer_for(creds.cert, creds.key, creds.wwdr)
    manifest = b'{"pass.json":"0123456789abcdef0123456789abcdef01234567"}'
    raw = rate(lambda _: signer.sign(manifest), args.seconds)

    def one(n: int) -> None:
        build_pkpass(
            settings,
            signer,
            PassData(
                serial=f"{n:032x}",
                auth_token="t" * 32,
                card_number="2000000000008",
                name="Анна Иванова",
                available=1000 + n % 500,
                pending=n % 70,
                tier="Золото",
                locations=[{"latitude": 55.76, "longitude": 37.61, "relevantText": "Магазин рядом"}] * 10,
            ),
        )

    passes = rate(one, args.seconds)
    print(f"raw cryptography PKCS#7 signing: {raw:,.0f}/s; complete passes built and signed: {passes:,.0f}/s")
    write_result(
        "passes",
        {
            "raw_signatures_per_second": round(raw),
            "passes_per_second": round(passes),
            "targets": {"passes_per_second_min": 1000, "met": passes >= 1000},
        },
    )


if __name__ == "__main__":
    main()
