"""A plain float64 forward pass of llama/qwen2 GGUF models with numpy, written independently of
the Swift engine, as the reference the engine's logits are compared with.

Weights are dequantized by the PyPI `gguf` package. Semantics follow ggml: RMSNorm, rotary
embeddings on adjacent pairs (llama) or halves (qwen2, "NeoX"), grouped-query attention with
optional q/k/v biases, SwiGLU, tied or separate output matrix.

With `quantize_activations`, the input of every product with a quantized weight matrix is first
rounded the way the engine's int8 kernels at `level` round it (8-bit codes, one scale per group:
at avx512 256 values, or 128 or 64 when the length is not a multiple of 256; at avx2 a weight
block's, 32 or a K-quant's 256; `q = rint(x · (1/d))`,
`d = max|x| / 127`, in float32), and keys and values are rounded to half precision as the
engine's cache stores them. The engine computes x in float32, so a value on a rounding boundary
may still round the other way there; such a flip is carried to every later layer and position."""
import numpy as np
import gguf
from gguf.quants import dequantize


FLOAT_TYPES = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16)


K_QUANTS = (gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K)


def activation_group(level, tensor_type, cols):
    """How many activations share a scale in the int8 products of `level` (None: not quantized)."""
    if level == "avx2":
        group = 256 if tensor_type in K_QUANTS else 32
        return group if cols % group == 0 else None
    if cols % 64:
        return None
    return 256 if cols % 256 == 0 else 128 if cols % 128 == 0 else 64


def quantize_rows(x, group):
    """The engine's activation rounding (QuantizedActivations.swift, ByteActivations.swift), in
    float32, back to float64."""
    n, cols = x.shape
    v = x.astype(np.float32).reshape(n, cols // group, group)
    d = np.abs(v).max(axis=-1, keepdims=True) / np.float32(127)
    inverse = (np.float32(1) / np.where(d == 0, np.float32(1), d)) * (d != 0)
    q = np.rint(v * inverse.astype(np.float32))
    return (q.astype(np.float64) * d.astype(np.float64)).reshape(n, cols)


class Reference:
    def __init__(self, path, quantize_activations=False, level="avx512"):
        self.quantize_activations = quantize_activations
        self.level = level
        self.reader = gguf.GGUFReader(path)
        fields = self.reader.fields
        def field(name, default=None):
            if name not in fields:
                return default
            f = fields[name]
            return f.parts[f.data[0]][0]
        self.arch = bytes(fields["general.architecture"].parts[-1]).decode()
        a = self.arch
        self.layers = int(field(f"{a}.block_count"))
        self.heads = int(field(f"{a}.attention.head_count"))
        self.kv_heads = int(field(f"{a}.attention.head_count_kv", self.heads))
        self.embedding = int(field(f"{a}.embedding_length"))
        self.head_size = self.embedding // self.heads
        self.rope_base = float(field(f"{a}.rope.freq_base", 10000.0))
        self.eps = float(field(f"{a}.attention.layer_norm_rms_epsilon"))
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.cache = {}

    def w(self, name):
        if name not in self.cache:
            if name not in self.tensors:
                return None
            t = self.tensors[name]
            self.cache[name] = dequantize(t.data, t.tensor_type).astype(np.float64)
        return self.cache[name]

    def matmul(self, x, name):
        """x @ W.T, with the engine's activation rounding for quantized weights when asked."""
        t = self.tensors[name]
        group = activation_group(self.level, t.tensor_type, x.shape[1])
        if self.quantize_activations and t.tensor_type not in FLOAT_TYPES and group:
            x = quantize_rows(x, group)
        return x @ self.w(name).T

    def norm(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        # x: [tokens, heads, head_size]
        d = self.head_size
        half = d // 2
        inv = self.rope_base ** (-np.arange(half, dtype=np.float64) * 2 / d)
        angles = np.outer(positions, inv)  # [tokens, half]
        cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
        if self.arch == "qwen2":
            a, b = x[..., :half], x[..., half:]
            return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    def logits(self, tokens):
        n = len(tokens)
        x = self.w("token_embd.weight")[tokens]
        positions = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        group = self.heads // self.kv_heads
        for l in range(self.layers):
            p = f"blk.{l}."
            h = self.norm(x, self.w(p + "attn_norm.weight"))
            q = self.matmul(h, p + "attn_q.weight")
            k = self.matmul(h, p + "attn_k.weight")
            v = self.matmul(h, p + "attn_v.weight")
            for name, t in (("attn_q.bias", "q"), ("attn_k.bias", "k"), ("attn_v.bias", "v")):
                b = self.w(p + name)
                if b is not None:
                    if t == "q": q = q + b
                    elif t == "k": k = k + b
                    else: v = v + b
            q = self.rope(q.reshape(n, self.heads, self.head_size), positions)
            k = self.rope(k.reshape(n, self.kv_heads, self.head_size), positions)
            v = v.reshape(n, self.kv_heads, self.head_size)
            if self.quantize_activations:
                # The engine's fast path keeps keys and values in half precision.
                k = k.astype(np.float16).astype(np.float64)
                v = v.astype(np.float16).astype(np.float64)
            out = np.empty((n, self.heads, self.head_size))
            for hd in range(self.heads):
                kh = hd // group
                scores = q[:, hd, :] @ k[:, kh, :].T / np.sqrt(self.head_size) + mask
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                scores /= scores.sum(axis=-1, keepdims=True)
                out[:, hd, :] = scores @ v[:, kh, :]
            x = x + self.matmul(out.reshape(n, -1), p + "attn_output.weight")
            h = self.norm(x, self.w(p + "ffn_norm.weight"))
            g = self.matmul(h, p + "ffn_gate.weight")
            u = self.matmul(h, p + "ffn_up.weight")
            x = x + self.matmul(g / (1 + np.exp(-g)) * u, p + "ffn_down.weight")
        x = self.norm(x, self.w("output_norm.weight"))
        return self.matmul(x, "output.weight" if "output.weight" in self.tensors else "token_embd.weight")
