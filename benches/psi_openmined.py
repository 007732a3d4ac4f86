#!/usr/bin/env python3
"""PSI cardinality with openmined-psi 2.0.6 (PyPI) on the sets benches/psi.rs wrote.

    pip install openmined-psi==2.0.6
    PSI_BENCH_DIR=/tmp/psi cargo bench --bench psi      # runs this script itself when it can
    python3 benches/psi_openmined.py /tmp/psi 100000 1000000

openmined-psi gives the cardinality to one side (the client) per run: the server's setup
message (its set under its key: |B| hash-and-multiply), the client's request (|A|), the server's
answer (|A| re-encrypted, shuffled), the client's count (|A| decryptions, then a lookup in the
setup): 4n elliptic-curve operations at n × n on P-256, one thread. For both sides to learn
their count it runs twice with the roles swapped, which this script does and times separately.
partnermap's two-way exchange gives both counts with 4n Ristretto255 multiplications in all,
since each side's blinded set is both its query and its set (FEDERATION.md)."""

import sys
import time

import private_set_intersection.python as psi


def one_direction(client_items, server_items):
    t = time.time()
    server = psi.server.CreateWithNewKey(False)  # cardinality only
    client = psi.client.CreateWithNewKey(False)
    setup = server.CreateSetupMessage(1e-9, len(client_items), server_items, psi.DataStructure.RAW)
    request = client.CreateRequest(client_items)
    response = server.ProcessRequest(request)
    size = client.GetIntersectionSize(setup, response)
    return size, time.time() - t


def run(dirname, n):
    a = [l.rstrip("\n") for l in open(f"{dirname}/a_{n}.txt")]
    b = [l.rstrip("\n") for l in open(f"{dirname}/b_{n}.txt")]
    size_a, secs_a = one_direction(a, b)  # Alpha learns |A ∩ B|
    size_b, secs_b = one_direction(b, a)  # Beta learns it
    assert size_a == n // 2 and size_b == n // 2, (size_a, size_b)
    print(
        f"openmined-psi {getattr(psi, '__version__', '')} {n} x {n} cardinality: "
        f"one direction {secs_a:.2f} s, the other {secs_b:.2f} s, both {secs_a + secs_b:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    d = sys.argv[1]
    for n in sys.argv[2:]:
        run(d, int(n))
