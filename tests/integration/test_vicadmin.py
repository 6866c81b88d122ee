"""vicadmin, each VCH's admin portal, on a real VCH made by vic-machine on the local target.

The portal runs in the appliance beside the port layer and the Docker endpoint (vic-init
starts all three), on the VCH's address, port 2378, with the VCH's server certificate.
"""

import gzip
import io
import json
import os
import signal
import tarfile
import time

import pytest
import requests

from conftest import _SourceAdapter, next_source_address, vic_machine

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


@pytest.fixture(scope="module")
def vch(tmp_path_factory):
    home = tmp_path_factory.mktemp("vicadmin") / "home"
    home.mkdir()
    r = vic_machine(home, "create", "--name", "adm", "--insecure-registry", "127.0.0.1:1")
    assert r.returncode == 0, r.stdout + r.stderr
    model = json.loads(vic_machine(home, "inspect", "--name", "adm").stdout)
    certs = home / "vch" / "adm"
    info = {
        "home": home,
        "url": model["runtime"]["admin_portal"].rstrip("/"),
        "ca": str(certs / "ca.pem"),
        "cert": (str(certs / "cert.pem"), str(certs / "key.pem")),
        "password": (certs / "vicadmin-password").read_text().strip(),
        "folder": home / "datastore1" / "adm",
    }
    assert info["url"].startswith("https://127.77.") and info["url"].endswith(":2378")
    yield info
    d = vic_machine(home, "delete", "--name", "adm", "--force")
    assert d.returncode == 0, d.stderr


def session_from(vch, source=None):
    s = requests.Session()
    s.trust_env = False  # the environment's CA bundle would replace the VCH's CA
    s.verify = vch["ca"]
    if source:
        s.mount("https://", _SourceAdapter(source))
    return s


def login(vch, source=None, password=None):
    s = session_from(vch, source)
    r = s.post(vch["url"] + "/api/login",
               json={"username": "admin", "password": password or vch["password"]}, timeout=30)
    return s, r


def test_ping_and_page_are_public_the_api_is_not(vch):
    s = session_from(vch)
    assert s.get(vch["url"] + "/ping").text == "OK"
    page = s.get(vch["url"] + "/")
    assert page.status_code == 200 and "VCH Admin" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    r = s.get(vch["url"] + "/api/dashboard")
    assert r.status_code == 401 and "client certificate" in r.json()["message"]
    assert s.get(vch["url"] + "/ui/..%2F..%2Fportlayer.token").status_code == 404


def test_login_cookie_is_bound_to_the_address(vch):
    src = next_source_address()
    s, r = login(vch, src)
    assert r.status_code == 200, r.text
    cookie = r.headers["Set-Cookie"]
    for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Max-Age=86400"):
        assert attr in cookie
    assert s.get(vch["url"] + "/api/dashboard").status_code == 200
    # the same cookie from another address is refused
    other = session_from(vch, next_source_address())
    other.cookies.update(s.cookies)
    assert other.get(vch["url"] + "/api/dashboard").status_code == 401
    # logout ends it
    assert s.post(vch["url"] + "/api/logout").status_code == 204


def test_bad_passwords_are_throttled(vch):
    src = next_source_address()
    assert login(vch, next_source_address())[1].status_code == 200  # worked before
    codes = [login(vch, src, password="wrong-%d" % i)[1].status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[-1] == 429, codes
    s, r = login(vch, src, password="wrong-7")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # the right password is never refused for the guesses, nor is another address
    assert login(vch, src)[1].status_code == 200
    assert login(vch, next_source_address())[1].status_code == 200


def test_client_certificate_logs_in(vch):
    s = session_from(vch)
    s.cert = vch["cert"]
    r = s.get(vch["url"] + "/api/logs/vic-init?tail=20")
    assert r.status_code == 200 and "vicadmin" in r.text


def dashboard(vch):
    s = session_from(vch)
    s.cert = vch["cert"]
    r = s.get(vch["url"] + "/api/dashboard", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_dashboard_reflects_a_component_killed_and_restarted(vch):
    d = dashboard(vch)
    comps = d["components"]
    assert set(comps) == {"vic-init", "port-layer", "docker-personality", "vicadmin"}
    assert all(c["state"] == "started" for c in comps.values()), comps
    assert d["docker"]["answers"] is True
    assert d["storage"]["images"]["free_mb"] > 0
    assert d["pool"]["path"].endswith("/adm")
    assert "registry 127.0.0.1:1 unreachable" in " ".join(d["warnings"])
    old = comps["port-layer"]
    os.kill(old["pid"], signal.SIGKILL)
    for _ in range(100):
        now = dashboard(vch)["components"]["port-layer"]
        if now["restarts"] >= 1 and now["state"] == "started" and now["pid"] != old["pid"]:
            break
        time.sleep(0.1)
    assert now["restarts"] >= 1 and now["state"] == "started" and now["pid"] != old["pid"], now


def test_logs_tail_and_follow(vch):
    s = session_from(vch)
    s.cert = vch["cert"]
    assert s.get(vch["url"] + "/api/logs/nosuch").status_code == 404
    assert s.get(vch["url"] + "/api/logs/vic-init?tail=0").status_code == 400
    with s.get(vch["url"] + "/api/logs/vicadmin/follow", stream=True, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        lines = []
        for raw in r.iter_lines(decode_unicode=True):
            lines.append(raw)
            if raw.startswith("data:") and "event=" in raw:
                break
    assert any("event=listening" in l or "event=request" in l for l in lines), lines[:5]


def test_bundle_has_the_logs_and_no_secret(vch):
    s = session_from(vch)
    s.cert = vch["cert"]
    r = s.get(vch["url"] + "/api/bundle", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/gzip"
    tar = tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz")
    names = [m.name.split("/", 1)[1] for m in tar.getmembers()]
    for want in ("logs/vic-init.log", "logs/port-layer.log", "logs/docker-personality.log",
                 "logs/vicadmin.log", "dashboard.json", "config.json", "events.log"):
        assert want in names, names
    cfg = json.loads(tar.extractfile([m for m in tar.getmembers()
                                      if m.name.endswith("config.json")][0]).read())
    assert cfg["guestinfo.vice./vch/name"] == "adm"
    raw = gzip.decompress(r.content)
    secrets = [(vch["folder"] / "portlayer.token").read_text().strip(),
               vch["password"],
               (vch["folder"] / "vicadmin.passwd").read_text().strip()]
    key_pem = (vch["folder"] / "server-key.pem").read_text()
    secrets.append("".join(key_pem.splitlines()[1:-1])[:40])
    for secret in secrets:
        assert secret.encode() not in raw
