"""The Swift tokenizer against Hugging Face `tokenizers` (a reference not written here), built
from the same GGUF vocabulary and merges with Qwen2's byte-level pre-tokenizer."""
import subprocess

import gguf
import pytest
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

from conftest import specula_binary
from test_engine_reference import model_path

QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

TEXTS = [
    "Hello world!",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "Grüße aus Köln — ça va? Здравствуйте, 你好，世界！ こんにちは",
    "emoji 🤖🚀 and flags 🇫🇷 mixed with 12345 digits and  double  spaces\t\ttabs",
    "It's, we'll, they've, I'M, don't\r\n\r\nnew lines   \n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
]


@pytest.fixture(scope="module")
def qwen():
    path = model_path("qwen2.5-coder-0.5b")
    reader = gguf.GGUFReader(path)
    def strings(name):
        f = reader.fields[name]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.decoder = decoders.ByteLevel()
    return path, hf


def swift_tokenize(path, text):
    out = subprocess.run([specula_binary(), "models", "tokenize", "--model", path, text], capture_output=True, text=True, check=True)
    return [int(t) for t in out.stdout.strip().split(",") if t]


@pytest.mark.parametrize("text", TEXTS)
def test_token_ids_match_hugging_face_tokenizers(qwen, text):
    path, hf = qwen
    assert swift_tokenize(path, text) == hf.encode(text).ids


@pytest.mark.parametrize("text", TEXTS)
def test_decode_round_trips(qwen, text):
    path, _ = qwen
    ids = swift_tokenize(path, text)
    out = subprocess.run([specula_binary(), "models", "detokenize", "--model", path, ",".join(map(str, ids))], capture_output=True, check=True)
    assert out.stdout.decode("utf-8") == text  # bytes: no newline translation


def test_known_ids(qwen):
    path, _ = qwen
    assert swift_tokenize(path, "Hello world") == [9707, 1879]
    # Special tokens in the text are recognised as such (ChatML).
    assert swift_tokenize(path, "<|im_start|>user\nHi<|im_end|>") == [151644, 872, 198, 13048, 151645]
