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
    c = TestClient(seen["app"])
    assert c.get("/api/meta").json()["name"] == "Tiny"
    assert c.post("/api/admin/reload", headers={"Authorization": "Bearer tok"}).status_code == 200


def test_serve_bad_spec_is_a_clear_error(tmp_path, capsys) -> None:
    code = main(["serve", str(tmp_path / "nope.yaml")])
    assert code == 2  # a spec error
    assert "spec file not found" in capsys.readouterr().err
