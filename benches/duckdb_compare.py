#!/usr/bin/env python3
"""Side-by-side: the same 3 x 3 overlap matrix in DuckDB, on the keys `cargo bench --bench scale`
wrote (BENCH_KEEP=DIR), already loaded into DuckDB tables (load time not counted).

    pip install duckdb==2.0.0
    BENCH_KEEP=/tmp/bench cargo bench --bench scale | tee /tmp/bench/ours.md
    python3 benches/duckdb_compare.py /tmp/bench --ours-warm-ms 12.3 --ours-cold-ms 80

Each cell counts distinct records of org A whose key meets any key of B's population, exactly
what partnermap computes."""
import argparse
import os
import statistics
import time

import duckdb

POPS = ["All", "Customers", "Prospects"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ours-warm-ms", type=float)
    ap.add_argument("--ours-cold-ms", type=float)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    for org in ["A", "B"]:
        for p in POPS:
            path = os.path.join(a.dir, f"keys_{org}_{p}.csv")
            con.execute(
                f"CREATE TABLE {org}_{p} AS SELECT record_id, key FROM read_csv('{path}', header=true, "
                "columns={'record_id': 'BIGINT', 'key': 'VARCHAR'}) WHERE key IS NOT NULL AND key <> ''"
            )
    cells = {}
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for x in POPS:
            for y in POPS:
                cells[(x, y)] = con.execute(
                    f"SELECT count(*) FROM A_{x} a WHERE a.key IN (SELECT key FROM B_{y})"
                ).fetchone()[0]
        runs.append((time.perf_counter() - t0) * 1000)
    one = []
    for _ in range(5):
        t0 = time.perf_counter()
        con.execute("SELECT count(*) FROM A_All a JOIN (SELECT DISTINCT key FROM B_All) b USING (key)").fetchone()
        one.append((time.perf_counter() - t0) * 1000)
    for (x, y), c in cells.items():
        print(f"  {x:<10} x {y:<10} {c:>8}")
    duck = statistics.median(runs)
    print("\n| figure | DuckDB | partnermap | ratio |\n|---|---|---|---|")
    print(f"| one join All x All (median of 5) | {statistics.median(one):.1f} ms | | |")
    for label, ours in [("warm", a.ours_warm_ms), ("cold process", a.ours_cold_ms)]:
        if ours:
            print(f"| 3x3 matrix, partnermap {label} | {duck:.1f} ms | {ours:.1f} ms | {duck / ours:.2f}x |")
        else:
            print(f"| 3x3 matrix (median of 5) | {duck:.1f} ms | | |")


if __name__ == "__main__":
    main()
