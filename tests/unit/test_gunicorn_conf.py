"""gunicorn.conf.py as gunicorn reads it: each worker, once the app is loaded, freezes that heap, so
full garbage collections (which stall every request of a gevent worker) walk only what requests
create. bench/upload.py shows the effect: p95 135 ms without, 75 ms with."""
import gc
import runpy
from pathlib import Path

from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]


def gunicorn_config(monkeypatch, tmp_path) -> Config:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the file creates one otherwise
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_a_worker_freezes_the_loaded_app_out_of_the_collectors_sight(monkeypatch, tmp_path):
    config = gunicorn_config(monkeypatch, tmp_path)
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        config.post_worker_init(object())
        assert gc.get_freeze_count() > 1000  # every module, the app and its clients
    finally:
        gc.unfreeze()


def test_the_web_settings_match_what_the_deployment_expects(monkeypatch, tmp_path):
    monkeypatch.setenv("PORT", "8000")
    monkeypatch.delenv("HOST", raising=False)
    config = gunicorn_config(monkeypatch, tmp_path)
    assert config.worker_class_str == "gevent"
    assert config.address == [("0.0.0.0", 8000)]
    assert config.timeout == 600  # outlasts the ALB's idle timeout of 600 s with streamed chat
