#!/usr/bin/env python3
"""Side-by-side: the same 3 x 3 overlap matrix in DuckDB, on the keys `cargo bench --bench scale`
wrote (BENCH_KEEP=DIR), already loaded into DuckDB tables (load time not counted).

    pip install duckdb==2.0.0
    BENCH_KEEP=/tmp/bench cargo bench --bench scale | tee /tmp/bench/ours.md
    python3 benches/duckdb_compare.py /tmp/bench --ours-warm-ms 12.3 --ours-cold-ms 80

Each cell counts distinct records of org A that match any record of B's population by the rule
of SPEC §2 (domain keys, or name keys across the cross rule), exactly what partnermap computes."""
import argparse
import os
import statistics
import time

import duckdb

POPS = ["All", "Customers", "Prospects"]

# SPEC §2 in SQL: equal domains, or equal names where one side has no domain and the name is
# not ambiguous (carried by 2+ domains) on the other side of the one without a domain.
CELL = """
WITH amb_a AS (SELECT name FROM {a} WHERE domain IS NOT NULL GROUP BY name HAVING count(DISTINCT domain) >= 2),
     amb_b AS (SELECT name FROM {b} WHERE domain IS NOT NULL GROUP BY name HAVING count(DISTINCT domain) >= 2),
     dom AS (SELECT a.record_id FROM {a} a WHERE a.domain IN (SELECT domain FROM {b} WHERE domain IS NOT NULL)),
     nm AS (SELECT a.record_id FROM {a} a JOIN {b} b ON a.name = b.name
            WHERE (a.domain IS NULL OR b.domain IS NULL)
              AND NOT (a.domain IS NULL AND a.name IN (SELECT name FROM amb_b))
              AND NOT (b.domain IS NULL AND a.name IN (SELECT name FROM amb_a)))
SELECT count(*) FROM (SELECT record_id FROM dom UNION SELECT record_id FROM nm)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ours-warm-ms", type=float)
    ap.add_argument("--ours-cold-ms", type=float)
    ap.add_argument("--ours-population-ms", type=float)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    for org in ["A", "B"]:
        for p in POPS:
            path = os.path.join(a.dir, f"keys_{org}_{p}.csv")
            con.execute(
                f"CREATE TABLE {org}_{p} AS SELECT record_id, nullif(domain, '') AS domain, nullif(name, '') AS name "
                f"FROM read_csv('{path}', header=true, "
                "columns={'record_id': 'BIGINT', 'domain': 'VARCHAR', 'name': 'VARCHAR'})"
            )
    cells = {}
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for x in POPS:
            for y in POPS:
                cells[(x, y)] = con.execute(CELL.format(a=f"A_{x}", b=f"B_{y}")).fetchone()[0]
        runs.append((time.perf_counter() - t0) * 1000)
    one = []
    for _ in range(5):
        t0 = time.perf_counter()
        con.execute(CELL.format(a="A_All", b="B_All")).fetchone()
        one.append((time.perf_counter() - t0) * 1000)
    # Population create: the same filter over the same rows (the CSV already in a table).
    con.execute(
        f"CREATE TABLE a_rows AS SELECT * FROM read_csv('{os.path.join(a.dir, 'a.csv')}', header=true, all_varchar=true)"
    )
    pop = []
    for _ in range(5):
        t0 = time.perf_counter()
        con.execute("CREATE OR REPLACE TABLE pop AS SELECT * FROM a_rows WHERE lower(type) = 'customer'")
        pop.append((time.perf_counter() - t0) * 1000)
    for (x, y), c in cells.items():
        print(f"  {x:<10} x {y:<10} {c:>8}")
    duck = statistics.median(runs)
    print("\n| figure | DuckDB | partnermap | ratio |\n|---|---|---|---|")
    print(f"| one cell All x All (median of 5) | {statistics.median(one):.1f} ms | | |")
    for label, ours in [("warm", a.ours_warm_ms), ("cold process", a.ours_cold_ms)]:
        if ours:
            print(f"| 3x3 matrix, partnermap {label} | {duck:.1f} ms | {ours:.1f} ms | {duck / ours:.2f}x |")
        else:
            print(f"| 3x3 matrix (median of 5) | {duck:.1f} ms | | |")
    dp = statistics.median(pop)
    if a.ours_population_ms:
        print(f"| population create (type = Customer) | {dp:.1f} ms | {a.ours_population_ms:.1f} ms | {a.ours_population_ms / dp:.1f}x slower |")
    else:
        print(f"| population create (type = Customer) | {dp:.1f} ms | | |")


if __name__ == "__main__":
    main()
