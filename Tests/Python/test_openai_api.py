"""The coordinator's OpenAI-compatible HTTP API driven by the official `openai` client: a real
coordinator (Qwen 0.5B target) with a real draft worker on loopback. Streamed chat equals
`specula generate --chat`; whole responses, `n`, stop strings, usage; API keys; errors in
OpenAI's shape naming the field; a client that leaves mid-stream frees its request."""
import http.client
import json
import os
import signal
import subprocess
import time
import urllib.request

import openai
import pytest

from conftest import specula_binary
from test_engine_reference import model_path

KEY = "test-key-123"
PROMPT = "Write a Python function that adds two numbers."


class Cluster:
    def __init__(self):
        model = model_path("qwen2.5-coder-0.5b")
        self.coordinator = subprocess.Popen(
            [specula_binary(), "coordinator", "--model", model, "--port", "0", "--http-port", "0", "--api-key", KEY,
             "--log-level", "error"], stdout=subprocess.PIPE, text=True)
        self.address = self.http = None
        while self.address is None or self.http is None:
            line = self.coordinator.stdout.readline().strip()
            assert line, "the coordinator exited before listening"
            if line.startswith("listening on "):
                self.address = line[len("listening on "):]
            if line.startswith("http on "):
                self.http = line[len("http on "):]
        self.worker = subprocess.Popen([specula_binary(), "draft", "--model", model, "--coordinator", self.address,
                                        "--threads", "1", "--log-level", "error"])
        self.client = openai.OpenAI(base_url=self.http + "/v1", api_key=KEY, max_retries=0, timeout=120)
        self.model = self.client.models.list().data[0].id
        deadline = time.time() + 60
        while self.metric("specula_workers") < 1 and time.time() < deadline:
            time.sleep(0.2)

    def metric(self, name):
        request = urllib.request.Request(self.http + "/metrics", headers={"Authorization": f"Bearer {KEY}"})
        text = urllib.request.urlopen(request, timeout=10).read().decode()
        samples = [line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")]
        return sum(float(value) for key, value in samples if key == name or key.startswith(name + "{"))

    def stop(self):
        for process in (self.worker, self.coordinator):
            process.send_signal(signal.SIGTERM)
        for process in (self.worker, self.coordinator):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def chat(cluster, **kwargs):
    arguments = {"model": cluster.model, "messages": [{"role": "user", "content": PROMPT}], "temperature": 0, "max_tokens": 24}
    return cluster.client.chat.completions.create(**{**arguments, **kwargs})


def test_streamed_chat_equals_generate_chat(cluster):
    stream = chat(cluster, stream=True, stream_options={"include_usage": True})
    deltas, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            deltas.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    native = subprocess.run([specula_binary(), "generate", "--coordinator", cluster.address, "--chat", "--temperature", "0",
                             "--max-tokens", "24", PROMPT], capture_output=True, text=True, check=True, timeout=120).stdout
    assert "".join(deltas) == native[:-1]
    assert finish == "length"
    assert usage.completion_tokens == 24 and usage.total_tokens == usage.prompt_tokens + 24


def test_whole_response_matches_the_stream_and_counts_its_tokens(cluster):
    streamed = "".join(c.choices[0].delta.content or "" for c in chat(cluster, stream=True) if c.choices)
    whole = chat(cluster)
    assert whole.choices[0].message.content == streamed
    assert whole.choices[0].message.role == "assistant"
    assert whole.choices[0].finish_reason == "length"
    ids = subprocess.run([specula_binary(), "models", "chat-template", "--model", "qwen2.5-coder-0.5b", "--tokens", "--messages",
                          json.dumps([{"role": "user", "content": PROMPT}])], capture_output=True, text=True, check=True).stdout
    assert whole.usage.prompt_tokens == len(ids.strip().split(","))
    assert whole.usage.completion_tokens == 24
    speculative = whole.model_extra.get("usage_speculative") or whole.usage.model_extra["speculative"]
    assert 1 <= speculative["target_passes"] <= 24


def test_n_gives_independent_choices(cluster):
    response = chat(cluster, n=2, temperature=0.9, seed=11, max_tokens=12)
    assert sorted(c.index for c in response.choices) == [0, 1]
    assert all(c.message.content for c in response.choices)
    assert response.usage.completion_tokens == 24


def test_a_stop_string_is_not_in_the_output(cluster):
    full = chat(cluster).choices[0].message.content
    stop = full[10:14]
    assert stop and full.index(stop) >= 1
    expected = full[:full.index(stop)]
    whole = chat(cluster, stop=[stop, "never appears"])
    assert whole.choices[0].message.content == expected
    assert whole.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in chat(cluster, stop=stop, stream=True) if c.choices)
    assert streamed == expected


def test_multi_turn_chat_and_completions_endpoint(cluster):
    messages = [{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "Capital of France?"},
                {"role": "assistant", "content": "Paris."}, {"role": "user", "content": "And of Italy?"}]
    answer = cluster.client.chat.completions.create(model=cluster.model, messages=messages, temperature=0, max_tokens=8)
    assert answer.choices[0].message.content
    text = cluster.client.completions.create(model=cluster.model, prompt="def add(a, b):", temperature=0, max_tokens=8)
    tokens = cluster.client.completions.create(model=cluster.model, prompt=[750, 912, 2877, 11, 293, 982], temperature=0, max_tokens=8)
    assert text.choices[0].text and tokens.choices[0].text and text.usage.prompt_tokens == 6


def test_models_health_tokenize(cluster):
    model = cluster.client.models.list().data[0]
    assert model.id == "qwen2.5-coder-0.5b-instruct" and model.model_extra["max_model_len"] > 1000
    health = urllib.request.urlopen(cluster.http + "/health", timeout=10)  # no key needed
    assert health.status == 200

    def post(path, body):
        request = urllib.request.Request(cluster.http + path, data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request, timeout=10))
    tokens = post("/tokenize", {"content": "def add(a, b):"})["tokens"]
    native = subprocess.run([specula_binary(), "models", "tokenize", "--model", "qwen2.5-coder-0.5b", "def add(a, b):"],
                            capture_output=True, text=True, check=True).stdout
    assert tokens == [int(t) for t in native.strip().split(",")]
    assert post("/detokenize", {"tokens": tokens})["content"] == "def add(a, b):"


def test_a_wrong_or_missing_key_is_401(cluster):
    for key in ("wrong", ""):
        bad = openai.OpenAI(base_url=cluster.http + "/v1", api_key=key or "x", max_retries=0,
                            default_headers={} if key else {"Authorization": ""})
        with pytest.raises(openai.AuthenticationError) as error:
            bad.models.list()
        assert error.value.status_code == 401
        assert error.value.body["code"] == "invalid_api_key" or "API key" in error.value.body["message"]


@pytest.mark.parametrize("arguments,param", [
    ({"max_tokens": -1}, "max_tokens"),
    ({"top_p": 1.5}, "top_p"),
    ({"n": 0}, "n"),
    ({"extra_body": {"speculative": {"verifier": "no-such-verifier"}}}, "speculative.verifier"),
    ({"max_tokens": 10_000_000}, "max_tokens"),
    ({"messages": [{"role": "user"}], "extra_body": {"messages": [{"content": "no role"}]}}, "messages[0].role"),
])
def test_bad_values_are_400_naming_the_field(cluster, arguments, param):
    with pytest.raises(openai.BadRequestError) as error:
        chat(cluster, **arguments)
    assert error.value.body["param"] == param, error.value.body


def test_unknown_model_and_path_are_404_and_a_huge_body_is_413(cluster):
    with pytest.raises(openai.NotFoundError):
        chat(cluster, model="no-such-model")
    with pytest.raises(openai.NotFoundError):
        cluster.client.get("/no/such/path", cast_to=object)
    connection = http.client.HTTPConnection(*cluster.http[len("http://"):].rsplit(":", 1), timeout=30)
    connection.request("POST", "/v1/chat/completions", body=b"x" * (9 << 20),
                       headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 413 and "error" in json.loads(response.read())


def test_a_client_leaving_mid_stream_frees_its_request(cluster):
    stream = chat(cluster, stream=True, max_tokens=5000)
    received = 0
    for chunk in stream:
        received += 1
        if received == 5:
            break
    stream.close()
    deadline = time.time() + 30
    while cluster.metric("specula_requests_in_flight") > 0 and time.time() < deadline:
        time.sleep(0.2)
    assert cluster.metric("specula_requests_in_flight") == 0
    assert cluster.metric("specula_requests_finished_total") >= 1


def loadtest(cluster, *arguments):
    return subprocess.run([specula_binary(), "loadtest", "--backend", "openai", "--url", cluster.http, "--quiet", "--json",
                           "--output-tokens", "8", "--temperature", "0", *arguments],
                          capture_output=True, text=True, timeout=300)


def test_the_load_tester_drives_the_http_api_as_any_openai_server(cluster):
    for endpoint in ("chat", "completions"):
        result = loadtest(cluster, "--api-key", KEY, "--endpoint", endpoint, "--requests", "6", "--concurrency", "3")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        step = summary["steps"][0]
        assert (step["sent"], step["ok"], step["errors"]) == (6, 6, {}), step
        # Counts come from the stream's usage, speculative figures from Specula's extension of it.
        assert step["outputTokensPerSecond"] > 0 and step["inputTokensPerSecond"] > step["outputTokensPerSecond"]
        assert step["speculative"]["targetPasses"] > 0
        assert step["timeToFirstTokenMs"]["samples"] == 6
        parameters = summary["parameters"]
        assert (parameters["backend"], parameters["model"], parameters["server"]) == ("openai", cluster.model, cluster.http)
    assert cluster.metric("specula_requests_in_flight") == 0


def test_the_load_tester_reports_a_refused_key_and_an_unknown_model(cluster):
    result = loadtest(cluster, "--api-key", "wrong", "--requests", "1")
    assert result.returncode != 0 and "answered 401" in result.stderr, result.stderr
    result = loadtest(cluster, "--api-key", KEY, "--model", "no-such-model", "--requests", "3")
    assert result.returncode == 0, result.stderr
    step = json.loads(result.stdout)["steps"][0]
    assert (step["ok"], step["errors"]) == (0, {"server_error": 3}), step
