"""The engine's logits against an independent float64 numpy forward pass (reference_forward.py),
on the real SmolLM2 (llama layout, Q4_1/Q8_0) and Qwen2.5-Coder 0.5B (qwen2 layout with biases,
Q5_0/Q8_0/Q4_K/Q6_K) files; and the batch invariance of the tree pass."""
import json
import subprocess

import numpy as np
import pytest

from conftest import ROOT, specula_binary
from reference_forward import Reference

MODELS = {
    "smollm2-135m": [1, 504, 3158, 314, 253, 1745, 30, 198],
    "qwen2.5-coder-0.5b": [750, 15801, 1445, 1648, 982, 262, 671, 308],
}


def model_path(name: str) -> str:
    result = subprocess.run([specula_binary(), "models", "fetch", name], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def engine_logits(path, tokens, *extra):
    out = subprocess.run([specula_binary(), "models", "logits", "--model", path, "--tokens", ",".join(map(str, tokens)),
                          "--top", "20", "--all-positions", *extra], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("name", list(MODELS))
def test_engine_logits_match_a_float64_reference(name):
    path = model_path(name)
    tokens = MODELS[name]
    reference = Reference(path).logits(tokens)
    rows = engine_logits(path, tokens)
    worst_abs, worst_rel = 0.0, 0.0
    for row in rows:
        p = row["position"]
        assert row["top"][0][0] == int(np.argmax(reference[p])), f"top-1 differs at position {p}"
        for token, value in row["top"]:
            err = abs(value - reference[p][token])
            worst_abs = max(worst_abs, err)
            worst_rel = max(worst_rel, err / max(abs(reference[p][token]), 1e-6))
    print(f"{name}: max abs error {worst_abs:.3g}, max rel error {worst_rel:.3g} over the top-20 logits of {len(rows)} positions")
    assert worst_abs < 1e-3, f"max abs error {worst_abs}"


def test_one_pass_is_bitwise_equal_to_token_by_token_decoding():
    path = model_path("smollm2-135m")
    tokens = MODELS["smollm2-135m"]
    assert engine_logits(path, tokens) == engine_logits(path, tokens, "--sequential")


def test_a_file_that_is_not_gguf_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    result = subprocess.run([specula_binary(), "models", "info", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "is not a GGUF file" in result.stderr and str(bad) in result.stderr


def test_a_truncated_gguf_is_refused(tmp_path):
    path = model_path("smollm2-135m")
    cut = tmp_path / "cut.gguf"
    with open(path, "rb") as f:
        cut.write_bytes(f.read(1_000_000))
    result = subprocess.run([specula_binary(), "models", "info", str(cut)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "truncated" in result.stderr
