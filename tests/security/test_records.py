"""Task records are checked, and converging is a compare-and-swap (review finding 13).

The review found a create whose "succeeded" record was never written (sqlite busy) left
"running", and the next converge rolled back a working VCH. The window is replayed exactly:
vic-machine is killed right after the create's last step, before it records the end.
"""

import json
import os
import subprocess
import threading

import pytest

from vic_integration_conftest import BIN_DIR, vic_machine

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


def test_create_killed_before_its_end_is_recorded_keeps_the_vch(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, VIC_CRASH_AFTER_STEP="docker_api")
    r = vic_machine(home, "create", "--name", "whole", env=env)
    assert r.returncode == -9, r.stdout + r.stderr
    ls = vic_machine(home, "ls", "--json")
    assert ls.returncode == 0, ls.stderr
    assert "finished 1 interrupted task" in ls.stderr
    vchs = json.loads(ls.stdout)
    assert [(v["name"], v["state"]) for v in vchs] == [("whole", "running")], vchs
    assert vic_machine(home, "delete", "--name", "whole").returncode == 0


def test_concurrent_converges_roll_back_once(tmp_path):
    """Two processes converge the same dead task at once: exactly one adopts it."""
    home = tmp_path / "home"
    env = dict(os.environ, VIC_CRASH_AFTER_STEP="appliance_vm")
    r = vic_machine(home, "create", "--name", "half", env=env)
    assert r.returncode == -9, r.stdout + r.stderr
    start = threading.Barrier(2)
    out = [None, None]

    def converge(i):
        start.wait()
        out[i] = subprocess.run([str(BIN_DIR / "vic-machine"), "ls", "--home", str(home),
                                 "--bin-dir", str(BIN_DIR)], capture_output=True, text=True,
                                timeout=120)

    threads = [threading.Thread(target=converge, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o.returncode == 0 for o in out), [o.stderr for o in out]
    fixed = sum("finished 1 interrupted task" in o.stderr for o in out)
    assert fixed == 1, [o.stderr for o in out]
    log = vic_machine(home, "inspect", "--name", "half", "--log").stdout
    assert log.count("rolling back") == 1, log
