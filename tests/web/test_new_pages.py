"""The statistics, help and admin activity pages, and the vendored charting library (issue 18)."""
import hashlib
from pathlib import Path

from tests.conftest import login
from tests.web.test_pages import CSP_UNSAFE

VENDOR = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "chartjs-4.4.7"


def test_statistics_help_and_activity_pages_render_without_inline_code(client, make_user, signed_in):
    for path in ("/stats", "/help"):
        response = signed_in.get(path)
        assert response.status_code == 200 and "default-src 'self'" in response.headers["Content-Security-Policy"]
        html = response.get_data(as_text=True)
        assert not CSP_UNSAFE.search(html), (path, CSP_UNSAFE.search(html))
    stats = signed_in.get("/stats").get_data(as_text=True)
    assert "vendor/chartjs-4.4.7/chart.umd." in stats and "Every document (admin)" not in stats
    help_page = signed_in.get("/help").get_data(as_text=True)
    assert "Legal and compliance" in help_page and "<kbd>N</kbd>" in help_page
    assert signed_in.get("/admin/activity", headers={"Accept": "text/html"}).status_code == 403
    make_user("boss@example.com", role="admin")
    boss = client.application.test_client()
    login(boss, "boss@example.com")
    assert boss.get("/admin/activity").status_code == 200
    assert "Every document (admin)" in boss.get("/stats").get_data(as_text=True)
    assert "every document" in boss.get("/stats?scope=all").get_data(as_text=True)


def test_chartjs_is_vendored_pinned_with_its_licence_and_served_by_the_app(client):
    source = (VENDOR / "chart.umd.js").read_bytes()
    assert source.startswith(b"/*!\n * Chart.js v4.4.7") and b"sourceMappingURL" not in source
    assert "MIT" in (VENDOR / "LICENSE.md").read_text()
    served = client.get("/static/vendor/chartjs-4.4.7/chart.umd.js")
    assert served.status_code == 200 and hashlib.sha256(served.data).digest() == hashlib.sha256(source).digest()
