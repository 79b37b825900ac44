"""The Dask backend (local cluster, 2 workers) gives exactly the local result for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from hubindex import load_spec
from hubindex.audit.config import parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.audit.sensitivity import sensitivity
from hubindex.audit.uncertainty import uncertainty

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


def test_dask_equals_local(asem_dir, cluster) -> None:  # type: ignore[no-untyped-def]
    s = load_spec(asem_dir / "sensitivity.yaml")
    cfg = parse_uncertainty({**s.uncertainty, "chunk": 64})  # several chunks per run
    m = AuditModel(s, cfg)
    loc = uncertainty(model=m, n=300, seed=0)
    seen: list[int] = []
    dsk = uncertainty(model=m, n=300, seed=0, backend="dask", scheduler=cluster, progress=lambda done, total: seen.append(done))
    np.testing.assert_array_equal(loc.ranks, dsk.ranks)
    np.testing.assert_array_equal(loc.scores, dsk.scores)
    assert seen[-1] == 300
    a = sensitivity(model=m, n=32, n_boot=50)
    b = sensitivity(model=m, n=32, n_boot=50, backend="dask", scheduler=cluster)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.indices.equals(b.indices)


def test_dask_summary_mode_equals_local(asem_dir, cluster) -> None:  # type: ignore[no-untyped-def]
    """keep='summary': the workers reduce their chunks to counts and histograms; merged in chunk order the
    summary is bit-identical to the local one (more chunks than the in-flight window of 8)."""
    s = load_spec(asem_dir / "sensitivity.yaml")
    m = AuditModel(s, parse_uncertainty({**s.uncertainty, "chunk": 25}))
    loc = uncertainty(model=m, n=300, seed=2, keep="summary")
    seen: list[int] = []
    dsk = uncertainty(model=m, n=300, seed=2, keep="summary", backend="dask", scheduler=cluster,
                      progress=lambda done, total: seen.append(done))
    assert seen == list(range(25, 301, 25))
    a, b = loc.stream, dsk.stream
    assert a is not None and b is not None and a.n == b.n == 300
    for f in ("rank_counts", "score_hist", "score_count", "score_sum", "score_m2", "score_min", "score_max"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert loc.summary().equals(dsk.summary()) and loc.choice_counts().equals(dsk.choice_counts())
    # and the same rank statistics as keeping every replication
    full = uncertainty(model=m, n=300, seed=2, keep="all").summary()
    cols = ["rank_mean", "rank_median", "rank_p05", "rank_p95"]
    np.testing.assert_allclose(dsk.summary()[cols], full[cols], rtol=0, atol=1e-12)


def test_unreachable_scheduler_is_a_clear_error(asem_dir) -> None:  # type: ignore[no-untyped-def]
    from hubindex.errors import ComputeError

    m = AuditModel(load_spec(asem_dir / "sensitivity.yaml"))
    with pytest.raises(ComputeError, match="cannot reach the Dask scheduler"):
        uncertainty(model=m, n=10, backend="dask", scheduler="tcp://127.0.0.1:1")


def test_cli_dask_backend_is_quiet_when_the_dashboard_port_is_taken(asem_dir, tmp_path, capfd) -> None:  # type: ignore[no-untyped-def]
    """`--backend dask` starts its own cluster without Dask's "Port 8787 is already in use. Perhaps you already
    have a cluster running?" warning (no dashboard; a free loopback port for the scheduler's HTTP server)."""
    import socket
    import warnings

    from hubindex.cli import main

    blocker = socket.socket()
    try:
        blocker.bind(("0.0.0.0", 8787))
        blocker.listen()
    except OSError:  # already taken by someone else: just as good for this test
        pass
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            code = main(["audit", "uncertainty", str(asem_dir / "sensitivity.yaml"), "--n", "8", "--backend", "dask",
                         "--out", str(tmp_path / "u")])
    finally:
        blocker.close()
    out, err = capfd.readouterr()
    assert code == 0, err
    assert (tmp_path / "u" / "rank_intervals.csv").exists()
    assert "already in use" not in out + err and "Perhaps you already have a cluster" not in out + err
    assert not [w for w in seen if "already in use" in str(w.message)]
