"""procs: every child gets the mark and the parent-death signal; a dead child's note says
what its log holds (real processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from perflab.procs import (
    MARK,
    ProcessGroup,
    StopSignals,
    child_popen_kwargs,
    clip_note,
    free_port,
    port_problem,
)


def test_child_kwargs_mark_session_and_death_signal(tmp_path: Path) -> None:
    code = ("import os, sys; print(os.environ.get(%r), os.getsid(0) == os.getpid());"
            "import ctypes; sig = ctypes.c_int(); "
            "ctypes.CDLL(None).prctl(2, ctypes.byref(sig)); print(sig.value)") % MARK
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, **child_popen_kwargs(dict(os.environ), None,
                                                          signal.SIGKILL))
    mark, own_session, death = out.stdout.split()
    assert mark == str(os.getpid()) and own_session == "True"
    assert int(death) == signal.SIGKILL  # PR_GET_PDEATHSIG


def test_exit_note_shows_the_real_last_lines_or_says_there_were_none(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    talker = group.start("talker", [sys.executable, "-c",
                                    "print('starting'); print('listening on 1234');"
                                    "import time; time.sleep(60)"], dict(os.environ))
    silent = group.start("silent", [sys.executable, "-c", "import time; time.sleep(60)"],
                         dict(os.environ))
    deadline = time.monotonic() + 30
    while "listening" not in (tmp_path / "talker.log").read_text() \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in (talker, silent):
        os.kill(child.pid, signal.SIGKILL)
        child.proc.wait(10)
    note = talker.exit_note("service")
    first, *rest = note.splitlines()
    assert first == "service exited with code -9 (killed by SIGKILL); last log line: " \
                    "listening on 1234"
    assert rest[1:] == ["  starting", "  listening on 1234"]
    assert silent.exit_note("service") == ("service exited with code -9 (killed by SIGKILL); "
                                           "its log %s is empty" % (tmp_path / "silent.log"))
    group.stop_all()


def test_a_clipped_note_keeps_its_first_line_and_its_last_lines() -> None:
    first = "service exited with code -9 (killed by SIGKILL); last log line: " + "x" * 250
    lines = ["  access line %04d " % i + "y" * 280 for i in range(15)]
    note = "\n".join([first, "last 15 log lines (service.log):", *lines])
    clipped = clip_note(note, 2000)
    assert len(clipped) <= 2000 and len(note) > 2000
    assert clipped.splitlines()[0] == first
    assert clipped.endswith(lines[-1]) and "  ..." in clipped.splitlines()
    assert clip_note("short\nnote", 2000) == "short\nnote"


def test_free_ports_are_distinct_listenable_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50  # never handed out twice
    assert all(p < low for p in ports)  # no outgoing connection can be given one
    with socket.socket() as s:  # and one can really be listened on
        s.bind(("127.0.0.1", ports[0]))
        s.listen()
        assert port_problem("127.0.0.1", ports[0]) is not None  # now it is taken


def test_stop_signals_interrupt_once_then_ignore() -> None:
    shown = []
    previous = signal.getsignal(signal.SIGTERM)
    with StopSignals(shown.append) as stops:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted at once by the handler
            raise AssertionError("the first signal did not interrupt")
        except KeyboardInterrupt:
            pass
        os.kill(os.getpid(), signal.SIGINT)  # during clean-up: reported, not raised
        os.kill(os.getpid(), signal.SIGTERM)
        assert stops.stopping and len(stops.received) == 3
    assert len(shown) == 2 and "already stopping" in shown[0]
    assert signal.getsignal(signal.SIGTERM) is previous
