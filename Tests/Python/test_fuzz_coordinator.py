"""A seeded fuzzer of the coordinator's handling of arbitrary message sequences: clients and
workers (authenticated, so their messages reach the state machine) send random Envelopes with
extreme field values, in random order, mixed with garbage frames, while a real worker drafts. For
a bounded time (SPECULA_FUZZ_SECONDS, default 20; SPECULA_FUZZ_SEED), the coordinator must stay up,
keep its memory bounded and serve a well-behaved client at the end; a crash prints the seed and
the coordinator's last words."""
import os
import random
import socket
import struct
import time

from test_hardening import (SECRET, authenticated_hello, challenged, coordinator, finish, generate,  # noqa: F401
                            start_worker)

SECONDS = float(os.environ.get("SPECULA_FUZZ_SECONDS", "20"))
SEED = int(os.environ.get("SPECULA_FUZZ_SEED", "1234"))

EXTREMES = [0, 1, 2, 3, 7, 8, 255, 2**31 - 1, 2**32 - 1]
EXTREMES64 = EXTREMES + [2**63, 2**64 - 1]
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 5e-324, 1e300, float("inf"), float("-inf"), float("nan")]


def random_message(pb, rng, known):
    """One Envelope of any kind, its fields drawn from small values, known ids and extremes."""
    e = pb.Envelope()
    kind = rng.choice(["generate", "cancel", "draft_block", "heartbeat", "hello", "speculate", "accepted",
                       "error", "token_chunk", "done", "hello_ack", "challenge"])
    ids = known["requests"] + known["rounds"] + EXTREMES64
    if kind == "generate":
        g = e.generate
        g.request_id = rng.choice(ids)
        if rng.random() < 0.8:
            g.prompt_tokens.extend(rng.choice(EXTREMES + [0, 1, 2]) for _ in range(rng.randint(0, 6)))
        g.max_tokens = rng.choice([0, 1, 4, 16, 2**32 - 1])
        g.num_drafts = rng.choice([0, 1, 2, 17, 2**32 - 1])
        g.block_length = rng.choice([0, 1, 4, 33, 2**32 - 1])
        g.seed = rng.choice(EXTREMES64)
        g.verifier = rng.choice(["", "greedy", "block", "multidraft-block", "traversal", "rrs", "kseq", "nope"])
        g.allow_lossy = rng.random() < 0.2
        g.no_draft = rng.random() < 0.2
        g.stop.extend(rng.choice(["", "x", "\x00", "a" * 2000]) for _ in range(rng.randint(0, 3)))
        if rng.random() < 0.9:
            s = g.sampling
            s.temperature = rng.choice(FLOATS + [0.7])
            s.top_k = rng.choice(EXTREMES)
            s.top_p = rng.choice(FLOATS)
            s.min_p = rng.choice(FLOATS)
    elif kind == "cancel":
        e.cancel.request_id = rng.choice(ids)
    elif kind == "draft_block":
        b = e.draft_block
        b.request_id = rng.choice(ids)
        b.round = rng.choice(ids)
        b.base_position = rng.choice(EXTREMES + [0, 2, 3, 4])
        if known["speculates"] and rng.random() < 0.7:  # a plausible answer to a Speculate seen
            b.request_id, b.round, b.base_position = rng.choice(known["speculates"])
        b.draft_index = rng.choice([0, 1, 2, 2**32 - 1])
        n = rng.randint(0, 40)
        b.tokens.extend(rng.choice([0, 1, 2, 7, 8, 2**32 - 1]) for _ in range(n))
        for _ in range(rng.choice([n, n, 0, n + 1])):
            row = b.distributions.add()
            m = rng.randint(0, 4)
            row.token_ids.extend(rng.choice([0, 1, 2, 7, 8, 2**32 - 1]) for _ in range(m))
            row.probabilities.extend(rng.choice(FLOATS) for _ in range(rng.choice([m, m, m + 1])))
    elif kind == "heartbeat":
        e.heartbeat.sequence = rng.choice(EXTREMES64)
        e.heartbeat.reply = rng.random() < 0.5
    elif kind == "hello":
        e.hello.protocol_version = rng.choice([0, 1, 2])
        e.hello.role = rng.choice([0, 1, 2, 3, 99])
    elif kind == "speculate":
        e.speculate.request_id = rng.choice(ids)
        e.speculate.context_tokens.extend([1, 2])
    elif kind == "accepted":
        e.accepted.request_id = rng.choice(ids)
        e.accepted.tokens.extend([1])
    elif kind == "error":
        e.error.code = rng.choice([0, 1, 5, 8, 99])
        e.error.request_id = rng.choice(ids)
    elif kind == "token_chunk":
        e.token_chunk.request_id = rng.choice(ids)
    elif kind == "done":
        e.done.request_id = rng.choice(ids)
    elif kind == "hello_ack":
        e.hello_ack.accepted = True
    else:
        e.challenge.nonce = "00"
    return e


class FuzzPeer:
    """An authenticated client or worker connection that sends fuzzed messages and reads whatever
    comes back without blocking, remembering the request ids and rounds it sees."""

    def __init__(self, pb, address, role, tokenizer, vocab):
        self.peer, nonce = challenged(pb, address)
        self.peer.send(authenticated_hello(pb, nonce, role=role, tokenizer=tokenizer, vocab=vocab))
        self.peer.sock.setblocking(False)
        self.open = True

    def send(self, data):
        try:
            self.peer.sock.setblocking(True)
            self.peer.sock.settimeout(1)
            self.peer.sock.sendall(data)
        except OSError:
            self.open = False
        finally:
            self.peer.sock.setblocking(False)

    def drain(self, pb, known):
        try:
            while True:
                chunk = self.peer.sock.recv(1 << 16)
                if not chunk:
                    self.open = False
                    return
                self.peer.buffer += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.open = False
        while len(self.peer.buffer) >= 4:
            (length,) = struct.unpack(">I", self.peer.buffer[:4])
            if len(self.peer.buffer) < 4 + length:
                return
            e = pb.Envelope()
            e.ParseFromString(self.peer.buffer[4:4 + length])
            self.peer.buffer = self.peer.buffer[4 + length:]
            if e.WhichOneof("body") == "speculate":
                s = e.speculate
                known["requests"].append(s.request_id)
                known["rounds"].append(s.round)
                known["speculates"].append((s.request_id, s.round, s.context_position + len(s.context_tokens)))
            for lst in known.values():
                del lst[:-32]


def frame(envelope):
    payload = envelope.SerializeToString()
    return struct.pack(">I", len(payload)) + payload


def test_arbitrary_message_sequences_from_clients_and_workers_never_take_the_coordinator_down(pb, coordinator):
    rng = random.Random(SEED)
    c = coordinator("--wait-deadline-ms", "200", "--stall-timeout-ms", "2000", env={"SPECULA_AUTH_SECRET": SECRET})
    worker = start_worker("--coordinator", f"{c.address[0]}:{c.address[1]}", "--auth-secret", SECRET)
    probe, nonce = challenged(pb, c.address)
    probe.send(authenticated_hello(pb, nonce))
    ack = probe.receive().hello_ack
    probe.close()
    known = {"requests": [1, 2, 3], "rounds": [1, 2], "speculates": []}
    peers, sent = [], 0
    baseline = c.rss_mb()
    try:
        deadline = time.time() + SECONDS
        while time.time() < deadline:
            assert c.alive(), f"the coordinator died (seed {SEED}, after {sent} messages)"
            peers = [p for p in peers if p.open]
            if len(peers) < 6 or rng.random() < 0.01:
                role = rng.choice([pb.ROLE_CLIENT, pb.ROLE_WORKER])
                try:
                    peers.append(FuzzPeer(pb, c.address, role, ack.tokenizer_fingerprint, ack.vocab_size))
                except (OSError, EOFError):
                    pass
                continue
            peer = rng.choice(peers)
            if rng.random() < 0.03:
                garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
                peer.send(rng.choice([garbage, struct.pack(">I", len(garbage)) + garbage]))
            else:
                peer.send(b"".join(frame(random_message(pb, rng, known)) for _ in range(rng.randint(1, 8))))
            sent += 1
            for p in peers:
                p.drain(pb, known)
        assert c.alive(), f"the coordinator died (seed {SEED}, after {sent} messages)"
        assert c.rss_mb() < baseline + 300
        # A well-behaved client is served at the end.
        good, nonce = challenged(pb, c.address)
        good.send(authenticated_hello(pb, nonce))
        assert good.receive().hello_ack.accepted
        good.send(generate(pb, 1, max_tokens=8))
        tokens, reply = finish(good, 1)
        assert reply.WhichOneof("body") == "done" and len(tokens) == 8, reply
        # The fuzz reached the state machine: requests started, errors and refusals of every kind.
        started, refused = c.metric("specula_requests_started_total"), c.metric("specula_request_errors_total")
        assert started >= 10 and refused >= 10, f"{started} requests started, {refused} refused"
        print(f"fuzzed the coordinator with {sent} sends (seed {SEED}, {SECONDS:.0f} s): {started:.0f} requests started, "
              f"{refused:.0f} refused, {c.metric('specula_worker_violations_total'):.0f} worker violations")
    finally:
        worker.kill()
        worker.wait()
        for p in peers:
            p.peer.close()
