#!/usr/bin/env python3
"""PSI cardinality with openmined-psi 2.0.6 (PyPI) on the sets benches/psi.rs wrote.

    pip install openmined-psi==2.0.6
    PSI_BENCH_DIR=/tmp/psi cargo bench --bench psi
    python3 benches/psi_openmined.py /tmp/psi 100000 1000000

Times one direction (client learns the cardinality: the server's setup message, the client's
request, the server's answer, the client's count) and twice that for both directions, as the
Rust bench measures both."""

import sys
import time

import private_set_intersection.python as psi


def run(dirname, n):
    a = [l.rstrip("\n") for l in open(f"{dirname}/a_{n}.txt")]
    b = [l.rstrip("\n") for l in open(f"{dirname}/b_{n}.txt")]
    t = time.time()
    server = psi.server.CreateWithNewKey(False)  # cardinality only
    client = psi.client.CreateWithNewKey(False)
    setup = server.CreateSetupMessage(1e-9, len(a), b, psi.DataStructure.RAW)
    request = client.CreateRequest(a)
    response = server.ProcessRequest(request)
    size = client.GetIntersectionSize(setup, response)
    secs = time.time() - t
    assert size == n // 2, size
    print(f"openmined-psi {psi.__version__ if hasattr(psi, '__version__') else ''} {n} x {n} cardinality, one direction: {secs:.2f} s; both directions: {2 * secs:.2f} s")


if __name__ == "__main__":
    d = sys.argv[1]
    for n in sys.argv[2:]:
        run(d, int(n))
