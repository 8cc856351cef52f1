"""Admission control against a real coordinator on loopback: a flood of concurrent requests
against `--max-requests 8 --max-queue 32`. Every request completes or is refused at once as
overloaded; none hangs; the coordinator's memory stays bounded; the requests it takes run as
fast as they do without the flood. Over HTTP, the same refusal is a 429."""
import threading
import time

from test_hardening import client, coordinator, generate  # noqa: F401 (the fixture)

TARGET = "synthetic:vocab=64,seed=3,peak=2,latency=3+0.1"
TOKENS = 16


def flood(pb, address, connections, per_connection):
    """Sends every request at once over `connections` clients; returns (outcome, seconds) per request."""
    results = []
    lock = threading.Lock()

    def one(index):
        peer = client(pb, address, timeout=120)
        sent = {}
        for i in range(per_connection):
            request_id = i + 1
            sent[request_id] = time.monotonic()
            peer.send(generate(pb, request_id, max_tokens=TOKENS, temperature=0.0))
        while sent:
            reply = peer.receive()
            kind = reply.WhichOneof("body")
            if kind in ("done", "error"):
                body = getattr(reply, kind)
                started = sent.pop(body.request_id)
                outcome = "ok" if kind == "done" and body.generated_tokens == TOKENS else f"{kind}:{getattr(body, 'code', '')}"
                with lock:
                    results.append((outcome, time.monotonic() - started))
        peer.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def test_a_flood_is_served_or_refused_at_once_and_the_requests_taken_are_not_slowed(pb, coordinator):  # noqa: F811
    c = coordinator("--max-requests", "8", "--max-queue", "32", model=TARGET)
    calm = flood(pb, c.address, connections=8, per_connection=1)
    assert [outcome for outcome, _ in calm] == ["ok"] * 8
    calm_seconds = max(seconds for _, seconds in calm)

    start = time.monotonic()
    results = flood(pb, c.address, connections=10, per_connection=20)
    elapsed = time.monotonic() - start
    served = [seconds for outcome, seconds in results if outcome == "ok"]
    refused = [seconds for outcome, seconds in results if outcome == f"error:{pb.ERROR_OVERLOADED}"]
    rss = c.rss_mb()
    print(f"\nflood of 200: {len(served)} served, {len(refused)} refused in {elapsed:.2f} s; "
          f"8 alone took {calm_seconds:.2f} s; coordinator RSS {rss:.0f} MB")
    assert len(served) + len(refused) == 200, sorted({outcome for outcome, _ in results})
    assert len(served) >= 40, "the 8 running and 32 queued are served"
    assert max(refused) < 1.0, "a refusal comes at once"
    # The taken requests run 8 at a time as without the flood: 40 of them in about 5 such waves.
    assert elapsed < 5 * calm_seconds * 1.5 + 2, (elapsed, calm_seconds)
    assert rss < 200
    assert c.metric("specula_request_errors_total") >= len(refused)
    assert c.metric("specula_requests_waiting") == 0 and c.metric("specula_requests_running") == 0
    assert c.alive()


def test_over_http_a_request_past_the_queue_is_a_429_in_openais_shape(coordinator):  # noqa: F811
    import http.client
    import json
    c = coordinator("--max-requests", "1", "--max-queue", "0", "--http-port", "0", model="synthetic:vocab=64,seed=3,latency=20+0")
    url = c.process.stdout.readline().strip()
    assert url.startswith("http on http://"), url
    host, port = url[len("http on http://"):].rsplit(":", 1)
    body = json.dumps({"prompt": [0, 1], "max_tokens": 50, "stream": True})
    headers = {"Content-Type": "application/json"}
    first = {}

    def run_first():  # 50 passes of 20 ms; a synthetic model streams no text, so its headers come at the end
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("POST", "/v1/completions", body=body, headers=headers)
        response = connection.getresponse()
        first["status"], first["body"] = response.status, response.read().decode()

    running = threading.Thread(target=run_first)
    running.start()
    deadline = time.time() + 10
    while c.metric("specula_requests_running") < 1 and time.time() < deadline:
        time.sleep(0.02)
    refused = http.client.HTTPConnection(host, int(port), timeout=30)
    refused.request("POST", "/v1/completions", body=body, headers=headers)
    response = refused.getresponse()
    error = json.loads(response.read())["error"]
    assert response.status == 429 and "capacity" in error["message"], (response.status, error)
    running.join(timeout=30)
    assert first["status"] == 200 and first["body"].rstrip().endswith("data: [DONE]"), "the running request is unharmed"
