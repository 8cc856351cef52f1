"""Chaos under load: a load test of CHAOS_REQUESTS requests (default 2,000; simulated models, 8
workers) while a worker is SIGKILLed every 2 s and restarted, one is SIGSTOPped for 5 s, and the
coordinator's clients include a non-reader and a slowloris. Every request of the well-behaved
clients must end ok, none lost, and the coordinator's resident memory stay bounded; the RSS curve
is printed (`make chaos` runs this with its output shown)."""
import json
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time

from conftest import specula_binary
from test_hardening import Coordinator

REQUESTS = int(os.environ.get("CHAOS_REQUESTS", "2000"))
TARGET = "synthetic:vocab=512,seed=7,latency=2+0.05"
DRAFT = "synthetic:vocab=512,seed=7,latency=1+0,agreement=0.8,draft-seed=1"


def draft_worker(address, name):
    return subprocess.Popen([specula_binary(), "draft", "--model", DRAFT, "--coordinator", f"{address[0]}:{address[1]}",
                             "--name", name, "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hello(role):
    # A Hello by hand (protocol 1, the role, nothing else): field 1 varint, field 2 varint.
    body = bytes([0x08, 0x01, 0x10, role])
    envelope = bytes([0x0A, len(body)]) + body
    return struct.pack(">I", len(envelope)) + envelope


def generate(request_id):
    # Generate{request_id, prompt_tokens: [1, 2], max_tokens: 100000}, encoded by hand.
    body = bytes([0x08, request_id, 0x1A, 0x02, 0x01, 0x02, 0x20]) + bytes([0xA0, 0x8D, 0x06])
    envelope = bytes([0x3A, len(body)]) + body
    return struct.pack(">I", len(envelope)) + envelope


def non_reader(address, stop):
    """Sends long requests and never reads; reconnects whenever the coordinator drops it."""
    while not stop.is_set():
        try:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(address)
            s.sendall(hello(2) + b"".join(generate(i) for i in range(1, 60)))
            while not stop.is_set():
                time.sleep(0.5)
                s.send(b"")  # stays open; raises once the coordinator has closed it
                if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    break
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            time.sleep(0.2)


def slowloris(address, stop):
    """Opens connections that send their Hello a byte a second, forever."""
    while not stop.is_set():
        try:
            s = socket.create_connection(address)
            for byte in hello(2):
                if stop.is_set():
                    break
                s.send(bytes([byte]))
                time.sleep(1)
        except OSError:
            time.sleep(0.2)


def test_a_cluster_under_chaos_loses_no_request_of_its_well_behaved_clients():
    # --round-deadline-ms: the old spelling of --wait-deadline-ms, kept as an alias for one release.
    c = Coordinator("--round-deadline-ms", "200", "--stall-timeout-ms", "3000", "--handshake-timeout-ms", "2000", model=TARGET)
    workers = [draft_worker(c.address, f"w{i}") for i in range(8)]
    stop = threading.Event()
    rng = random.Random(7)
    events = []

    def chaos():
        started = time.time()
        stopped_once = False
        while not stop.wait(2):
            victim = rng.randrange(1, 8)
            workers[victim].kill()
            workers[victim].wait()
            workers[victim] = draft_worker(c.address, f"w{victim}")
            events.append(f"{time.time() - started:5.1f} s: SIGKILL w{victim}, restarted")
            if not stopped_once and time.time() - started > 4:
                stopped_once = True
                os.kill(workers[0].pid, signal.SIGSTOP)
                events.append(f"{time.time() - started:5.1f} s: SIGSTOP w0 for 5 s")
                threading.Timer(5, lambda: os.kill(workers[0].pid, signal.SIGCONT)).start()

    rss = []

    def sample():
        while not stop.wait(1):
            rss.append(c.rss_mb())

    threads = [threading.Thread(target=f, args=args, daemon=True)
               for f, args in ((chaos, ()), (sample, ()), (non_reader, (c.address, stop)), (slowloris, (c.address, stop)))]
    try:
        time.sleep(1)
        baseline = c.rss_mb()
        for t in threads:
            t.start()
        load = subprocess.run([specula_binary(), "loadtest", "--coordinator", f"{c.address[0]}:{c.address[1]}",
                               "--requests", str(REQUESTS), "--concurrency", "16", "--output-tokens", "8-32",
                               "--temperature", "0.7", "--request-timeout", "60", "--quiet", "--json"],
                              capture_output=True, text=True, timeout=900)
    finally:
        stop.set()
        for w in workers:
            os.kill(w.pid, signal.SIGCONT)
            w.kill()
            w.wait()
    summary = json.loads(load.stdout[:load.stdout.rindex("}") + 1])["steps"][0]
    print(f"\nchaos: {summary['sent']} requests sent, {summary['ok']} ok, errors {summary['errors']}, "
          f"{summary['durationSeconds']:.1f} s, {summary['requestsPerSecond']:.1f} requests/s")
    print("\n".join(events))
    print("coordinator RSS (MB, every second): " + " ".join(f"{m:.0f}" for m in rss))
    assert c.alive()
    cancelled = c.metric('specula_requests_finished_total{reason="cancelled"}')
    print(f"requests of the non-reader cancelled when it was dropped: {cancelled:.0f}")
    assert cancelled >= 59, "the non-reader was never dropped"
    assert summary["sent"] == REQUESTS and summary["ok"] == REQUESTS, summary["errors"]
    assert max(rss) < baseline + 150, f"RSS went from {baseline:.0f} to {max(rss):.0f} MB"
    assert c.stop(timeout=10) == 0
