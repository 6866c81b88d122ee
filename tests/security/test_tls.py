"""Every TLS server accepts only forward-secret AEAD suites (review finding 11).

The review connected with static-RSA and CBC-SHA1 suites on TLS 1.2 and was served. Each of
the web service, a VCH's Docker endpoint and its admin portal must now refuse them, and
still serve TLS 1.3 and ECDHE with AES-GCM or ChaCha20-Poly1305.
"""

import json
import socket
import ssl

import pytest

from vic_integration_conftest import vic_machine

WEAK_TLS12 = [
    "AES128-SHA",              # static RSA key exchange, CBC, SHA-1
    "AES256-GCM-SHA384",       # static RSA key exchange
    "ECDHE-RSA-AES128-SHA",    # CBC with SHA-1
    "ECDHE-ECDSA-AES256-SHA",  # CBC with SHA-1
    "ECDHE-RSA-AES128-SHA256",  # CBC
    "DHE-RSA-AES128-GCM-SHA256",  # finite-field DHE
]
STRONG_TLS12 = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
               "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"


def handshake(addr, *, tls12_ciphers=None, cert=None):
    """The negotiated (version, cipher) or the SSLError the handshake ended with."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12_ciphers is not None:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(tls12_ciphers)
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(addr, timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw) as s:
                return s.version(), s.cipher()[0]
        except (ssl.SSLError, ConnectionResetError) as e:
            return e


def assert_only_strong(addr, cert=None):
    for weak in WEAK_TLS12:
        got = handshake(addr, tls12_ciphers=weak, cert=cert)
        assert isinstance(got, Exception), "%s:%d served %s: %r" % (addr + (weak, got))
    got = handshake(addr, tls12_ciphers=STRONG_TLS12, cert=cert)
    assert not isinstance(got, Exception), "%s:%d: %r" % (addr + (got,))
    assert got[0] == "TLSv1.2" and ("GCM" in got[1] or "CHACHA20" in got[1]), got
    got = handshake(addr, cert=cert)
    assert not isinstance(got, Exception) and got[0] == "TLSv1.3", got


def test_web_service_refuses_weak_suites(make_server):
    s = make_server()
    assert_only_strong(("127.0.0.1", s.port))


@pytest.fixture
def vch_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = vic_machine(home, "create", "--name", "tlsvch")
    assert r.returncode == 0, r.stdout + r.stderr
    yield home
    vic_machine(home, "delete", "--name", "tlsvch", "--force")


def test_vch_endpoints_refuse_weak_suites(vch_home):
    r = vic_machine(vch_home, "inspect", "--name", "tlsvch", "--json")
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)
    host, port = model["runtime"]["docker_host"].replace("tcp://", "").rsplit(":", 1)
    certs = vch_home / "vch" / "tlsvch"
    client = (str(certs / "cert.pem"), str(certs / "key.pem"))
    assert_only_strong((host, int(port)), cert=client)   # the Docker endpoint
    assert_only_strong((host, 2378), cert=client)         # vicadmin
