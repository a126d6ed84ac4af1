#!/usr/bin/python3
"""Writes a Hugging Face Qwen3.5 checkpoint (config.json + one model.safetensors, as s0's random
benchmark checkpoints are) as a GGUF for llama.cpp, with llama.cpp's own gguf-py.

Why not llama.cpp's convert_hf_to_gguf.py: it imports torch and transformers, which this machine does
not have (Debian packages only). This script applies the same tensor transforms its Qwen3.5 classes
apply (conversion/qwen.py: Qwen3NextModel, _LinearAttentionVReorderBase, Qwen3_5TextModel; the type
rules of conversion/base.py's prepare_tensors) to a text-only checkpoint with as many key as value
heads (the 0.8B shape), and writes the same metadata keys, streaming one tensor at a time so that a
0.8B model never sits in memory whole.

The vocabulary comes from a tokenizer.json (a byte-level BPE, e.g. the Qwen3 tokenizer fixture)
padded with [PADn] entries to the config's vocab_size, as the converter pads; the random weights
have no tokenizer of their own, and llama.cpp needs one to load the model and to tokenise the
logits check's prompt.

    write_gguf.py --gguf-py DIR --model DIR --tokenizer DIR --outtype f32|bf16 --out FILE
"""
import argparse
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np


def fail(msg):
    print(f"write_gguf.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    """name -> (dtype string, shape, numpy memmap of the raw bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], raw[begin:end])
    return out


def to_f32(dtype, shape, raw):
    # The converter widens every stored type but f16/f32 to f32 before its transforms.
    if dtype == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if dtype == "F32":
        return raw.view(np.float32).reshape(shape)
    if dtype == "F16":
        return raw.view(np.float16).astype(np.float32).reshape(shape)
    fail(f"tensor dtype {dtype} is not one of BF16, F32, F16")


def transform(name, t):
    """One checkpoint tensor -> (converter's name before mapping, data), as Qwen3_5TextModel's
    modify_tensors chain does it for key heads == value heads (main() refuses other shapes)."""
    if name.endswith(".A_log"):
        t = -np.exp(t)
    elif name.endswith(".dt_bias"):
        name = name[: -len(".dt_bias")] + ".dt_proj.bias"
    elif "conv1d" in name:
        t = t.squeeze()
    elif name.endswith("norm.weight") and not name.endswith("linear_attn.norm.weight"):
        t = t + 1  # Qwen3.5's RMSNorms are zero-centred (weight 0 = identity); ggml multiplies by w
    return name, np.ascontiguousarray(t, dtype=np.float32)


def stored_type(gguf, new_name, data, outtype):
    """conversion/base.py's type rules: 1-D tensors, norms, the conv kernel and names not ending in
    .weight stay F32; every other matrix takes the output type."""
    if data.ndim <= 1 or new_name.endswith("_norm.weight") or ".ssm_conv1d." in new_name \
            or not new_name.endswith(".weight"):
        return gguf.GGMLQuantizationType.F32
    return outtype


def add_metadata(gguf, w, hp, ftype):
    """The keys TextModel, Qwen2MoeModel, Qwen3NextModel and _Qwen35MRopeMixin write."""
    rope = hp.get("rope_parameters", {})
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("random Qwen3.5 (s0 benchmark checkpoint)")
    w.add_block_count(hp["num_hidden_layers"])
    w.add_context_length(hp["max_position_embeddings"])
    w.add_embedding_length(hp["hidden_size"])
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(hp["num_attention_heads"])
    w.add_head_count_kv(hp["num_key_value_heads"])
    w.add_rope_dimension_sections((rope.get("mrope_section", [11, 11, 10]) + [0] * 4)[:4])
    w.add_rope_freq_base(rope["rope_theta"])
    w.add_layer_norm_rms_eps(hp["rms_norm_eps"])
    w.add_key_length(hp["head_dim"])
    w.add_value_length(hp["head_dim"])
    w.add_file_type(ftype)
    w.add_ssm_conv_kernel(hp["linear_conv_kernel_dim"])
    w.add_ssm_state_size(hp["linear_key_head_dim"])
    w.add_ssm_group_count(hp["linear_num_key_heads"])
    w.add_ssm_time_step_rank(hp["linear_num_value_heads"])
    w.add_ssm_inner_size(hp["linear_value_head_dim"] * hp["linear_num_value_heads"])
    w.add_recurrent_layers([t == "linear_attention" for t in hp["layer_types"]])
    w.add_full_attention_interval(hp.get("full_attention_interval", 4))
    w.add_rope_dimension_count(int(hp["head_dim"] * rope.get("partial_rotary_factor", 0.25)))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def add_vocab(gguf, w, tokenizer_dir, vocab_size):
    """get_vocab_base + _set_vocab_gpt2 from tokenizer.json alone (no transformers): ids the file
    lacks become [PADn] (UNUSED), added tokens CONTROL when special or <|...|>, other added tokens
    USER_DEFINED, the rest NORMAL."""
    tok = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok["added_tokens"]}
    by_id.update({i: a["content"] for i, a in added.items()})
    if max(by_id) >= vocab_size:
        fail(f"{tokenizer_dir}/tokenizer.json has id {max(by_id)}, beyond the model's vocab_size {vocab_size}")
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(by_id[i])
            # The converter also makes added tokens that look like <|...|> CONTROL (does_token_look_special).
            control = i in added and (added[i]["special"] or (by_id[i].startswith("<|") and by_id[i].endswith("|>")))
            types.append(gguf.TokenType.CONTROL if control else
                         gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")  # the Qwen2/Qwen3 split regex (Qwen3.5's adds \p{M}: "qwen35")
    w.add_token_list(tokens)
    w.add_token_types(types)
    gguf.SpecialVocab(tokenizer_dir, load_merges=True).add_to_gguf(w, quiet=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf-py", required=True, type=Path, help="llama.cpp's gguf-py folder")
    ap.add_argument("--model", required=True, type=Path, help="folder with config.json and model.safetensors")
    ap.add_argument("--tokenizer", required=True, type=Path, help="folder with tokenizer.json")
    ap.add_argument("--outtype", required=True, choices=["f32", "bf16"])
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    if not (a.gguf_py / "gguf" / "__init__.py").is_file():
        fail(f"--gguf-py {a.gguf_py}: no gguf/__init__.py there")
    for f in (a.model / "config.json", a.model / "model.safetensors", a.tokenizer / "tokenizer.json"):
        if not f.is_file():
            fail(f"{f}: missing")
    sys.path.insert(0, str(a.gguf_py))
    import gguf

    hp = json.loads((a.model / "config.json").read_text())
    if hp.get("model_type") != "qwen3_5_text":
        fail(f"{a.model}/config.json: model_type {hp.get('model_type')!r}, expected 'qwen3_5_text'")
    if hp["linear_num_key_heads"] != hp["linear_num_value_heads"]:
        # The converter then also reorders the value heads (_LinearAttentionVReorderBase); no checkpoint
        # here could check that transform against llama.cpp, so it is not written.
        fail(f"{a.model}/config.json: {hp['linear_num_key_heads']} key heads != {hp['linear_num_value_heads']} "
             "value heads: the value-head reorder llama.cpp needs then is not implemented here")
    qtype, ftype = {"f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
                    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16)}[a.outtype]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN35, hp["num_hidden_layers"])
    tensors = read_safetensors(a.model / "model.safetensors")

    def converted():
        for name, (dtype, shape, raw) in tensors.items():
            hf_name, data = transform(name, to_f32(dtype, shape, raw))
            new_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if new_name is None:
                fail(f"tensor {name}: no GGUF name for {hf_name}")
            t = stored_type(gguf, new_name, data, qtype)
            yield new_name, gguf.quants.quantize(data, t), t

    tmp = a.out.with_name(a.out.name + ".tmp")
    w = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.QWEN35])
    add_metadata(gguf, w, hp, ftype)
    add_vocab(gguf, w, a.tokenizer, hp["vocab_size"])
    # Pass 1 declares every tensor (the header holds them all); pass 2 converts and writes each in turn.
    for new_name, data, t in converted():
        w.add_tensor_info(new_name, data.shape, data.dtype, data.nbytes, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for _, data, _ in converted():
        w.write_tensor_data(data)
    w.close()
    os.replace(tmp, a.out)
    print(f"wrote {a.out} ({a.outtype}, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
