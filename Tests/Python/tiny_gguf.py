"""Tiny random-weight GGUF models, one per weight type and layout, for checking the engine's
kernels against the float64 reference: every matrix of a file has the same ggml type, its blocks
random bytes with scales set to small finite values.

Shapes are chosen to reach every kernel path: the 32-weight formats get an embedding of 192
(activation groups of 64, an odd number of chunks) and the K-quants 256 (groups of 256)."""
import numpy as np
import gguf

T = gguf.GGMLQuantizationType

# (block elements, block bytes, [(byte offset of an f16 scale, magnitude)], int8 scale bytes)
LAYOUTS = {
    T.Q4_0: (32, 18, [(0, 0.02)], None),
    T.Q4_1: (32, 20, [(0, 0.01), (2, 0.05)], None),
    T.Q5_0: (32, 22, [(0, 0.01)], None),
    T.Q8_0: (32, 34, [(0, 0.001)], None),
    T.Q4_K: (256, 144, [(0, 0.002), (2, 0.002)], None),
    T.Q6_K: (256, 210, [(208, 0.00005)], (192, 16)),
}

ARCHITECTURES = ("llama", "qwen2")


def random_matrix(rng, kind, rows, cols):
    """A `rows × cols` matrix of `kind`: floats, or raw quantized blocks."""
    if kind == T.F32:
        return rng.normal(0, 0.05, (rows, cols)).astype(np.float32), None
    if kind == T.F16:
        return rng.normal(0, 0.05, (rows, cols)).astype(np.float16), None
    elements, nbytes, scales, _ = LAYOUTS[kind]
    blocks = rng.integers(0, 256, (rows, cols // elements, nbytes), dtype=np.uint8)
    for offset, magnitude in scales:
        values = (rng.uniform(0.5, 1.0, blocks.shape[:2]) * magnitude).astype(np.float16)
        blocks[:, :, offset:offset + 2] = values.view(np.uint8).reshape(blocks.shape[0], blocks.shape[1], 2)
    return blocks.reshape(rows, -1), kind


def write_tiny_model(path, kind, arch, seed=0):
    """Writes a 2-layer `arch` model whose matrices are all of type `kind`; returns `path`."""
    rng = np.random.default_rng(seed)
    k_quant = kind in (T.Q4_K, T.Q6_K)
    embedding, feed_forward = (256, 512) if k_quant else (192, 320)
    heads, kv_heads, vocab = (4, 2, 96) if k_quant else (3, 1, 96)
    head_size = embedding // heads
    writer = gguf.GGUFWriter(path, arch)
    writer.add_block_count(2)
    writer.add_context_length(256)
    writer.add_embedding_length(embedding)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)

    def matrix(name, rows, cols):
        data, raw = random_matrix(rng, kind, rows, cols)
        if raw is None:
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, data, raw_dtype=raw)  # shape from the byte shape

    def vector(name, n, around=1.0):
        writer.add_tensor(name, (around + rng.normal(0, 0.1, n)).astype(np.float32))

    matrix("token_embd.weight", vocab, embedding)
    for layer in range(2):
        p = f"blk.{layer}."
        vector(p + "attn_norm.weight", embedding)
        matrix(p + "attn_q.weight", heads * head_size, embedding)
        matrix(p + "attn_k.weight", kv_heads * head_size, embedding)
        matrix(p + "attn_v.weight", kv_heads * head_size, embedding)
        if arch == "qwen2":
            vector(p + "attn_q.bias", heads * head_size, 0.0)
            vector(p + "attn_k.bias", kv_heads * head_size, 0.0)
            vector(p + "attn_v.bias", kv_heads * head_size, 0.0)
        matrix(p + "attn_output.weight", embedding, heads * head_size)
        vector(p + "ffn_norm.weight", embedding)
        matrix(p + "ffn_gate.weight", feed_forward, embedding)
        matrix(p + "ffn_up.weight", feed_forward, embedding)
        matrix(p + "ffn_down.weight", embedding, feed_forward)
    vector("output_norm.weight", embedding)
    if arch == "llama":  # qwen2 ties the output matrix to the embeddings
        matrix("output.weight", vocab, embedding)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
