"""``hubindex serve``: builds the index, hands the app to uvicorn with the given host/port/token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hubindex.cli import main


def test_serve_command(monkeypatch, tiny_spec) -> None:
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", str(tiny_spec), "--port", "8123", "--token", "tok"]) == 0
    assert seen["port"] == 8123 and seen["host"] == "127.0.0.1"
    c = TestClient(seen["app"], base_url="http://127.0.0.1")  # serve allows loopback Host names
    assert c.get("/api/meta").json()["name"] == "Tiny"
    assert c.post("/api/admin/reload", headers={"Authorization": "Bearer tok"}).status_code == 200


def test_serve_bad_spec_is_a_clear_error(tmp_path, capsys) -> None:
    code = main(["serve", str(tmp_path / "nope.yaml")])
    assert code == 2  # a spec error
    assert "spec file not found" in capsys.readouterr().err


def test_serve_limits_and_hosts(monkeypatch, tiny_spec) -> None:
    """serve wires the load-shedding options into the app and uvicorn, and answers only its allowed hosts."""
    import sys

    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.delenv("HUBINDEX_ALLOWED_HOSTS", raising=False)
    old = sys.getswitchinterval()
    try:
        assert main(["serve", str(tiny_spec), "--allowed-host", "hub.example.org", "--workers", "3", "--queue",
                     "5", "--header-timeout", "2.5", "--limit-concurrency", "77", "--uncertainty-reps", "0",
                     "--gil-switch-interval", "0.001"]) == 0
        assert sys.getswitchinterval() == 0.001
    finally:
        sys.setswitchinterval(old)
    assert seen["limit_concurrency"] == 77 and seen["timeout_keep_alive"] == 5
    assert seen["http"].__name__.startswith("HeaderTimeout")
    work = seen["app"].state.work
    assert (work.workers, work.queue) == (3, 5)
    for host, status in [("127.0.0.1:8000", 200), ("localhost", 200), ("[::1]:8000", 200),
                         ("hub.example.org", 200), ("evil.example", 400), ("testserver", 400)]:
        c = TestClient(seen["app"], base_url=f"http://{host}")
        r = c.get("/api/health")
        assert r.status_code == status, (host, r.text)
    assert "not allowed" in TestClient(seen["app"], base_url="http://evil.example").get("/").json()["detail"]
