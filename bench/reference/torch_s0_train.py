#!/usr/bin/env python3
"""The reference S0 training loop, timed on the GPU beside bench/gpu_train_bench, on the same shape
and the same examples (the JSON lines gpu_train_bench writes: {"ids": [...], "prompt_len": n}).

The loop is the s0-tuning library's recipe run through PyTorch + transformers: random bf16 weights of
the Qwen3.5-4B shape, S0 injected as the initial state of every GatedDeltaNet layer's chunked rule,
one example at a time (loss / n backward), the L2 term, total-norm clipping at 1.0, Adam at 1e-3.
The gated delta rule runs through flash-linear-attention's Triton kernels when `fla` imports (or
with --kernels fla), else through transformers' torch fallback (--kernels torch forces it).

usage: torch_s0_train.py --data FILE [--steps N] [--layers L] [--kernels auto|fla|torch]
Prints one line per step and a final "RESULT {json}" line.
"""
import argparse
import json
import time

import torch

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--data", required=True, help="JSON lines of {ids, prompt_len} (gpu_train_bench writes them)")
ap.add_argument("--steps", type=int, default=3, help="optimizer steps; the best after the first is reported")
ap.add_argument("--layers", type=int, default=32)
ap.add_argument("--kernels", choices=["auto", "fla", "torch"], default="auto")
args = ap.parse_args()

import transformers  # noqa: E402  (after argument parsing: --help works without a GPU stack)
import transformers.models.qwen3_5.modeling_qwen3_5 as qwen35  # noqa: E402

kernels = args.kernels
if kernels != "torch":
    try:
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule as fla_chunk

        kernels = "fla"
    except ImportError:
        if kernels == "fla":
            raise SystemExit("torch_s0_train.py: --kernels fla, but flash-linear-attention does not import")
        kernels = "torch"

if kernels == "fla":
    def chunk_rule(query, key, value, g, beta, initial_state=None, output_final_state=False,
                   use_qk_l2norm_in_kernel=False, **_):
        return fla_chunk(query, key, value, g=g, beta=beta, initial_state=initial_state,
                         output_final_state=output_final_state, use_qk_l2norm_in_kernel=use_qk_l2norm_in_kernel)
else:
    chunk_rule = qwen35.torch_chunk_gated_delta_rule

# S0 per layer: the layer whose linear attention runs now picks its state; the chunked rule starts
# from it (broadcast over the batch of one), as the s0-tuning library injects it.
states = {}
running = {"layer": None}


def chunk_rule_from_s0(query, key, value, *rest, initial_state=None, **kw):
    s0 = states.get(running["layer"])
    if s0 is not None and initial_state is None:
        dtype = query.dtype if kernels == "fla" else torch.float32
        initial_state = s0.unsqueeze(0).expand(query.shape[0], -1, -1, -1).to(dtype)
    return chunk_rule(query, key, value, *rest, initial_state=initial_state, **kw)


qwen35.torch_chunk_gated_delta_rule = chunk_rule_from_s0

config = transformers.Qwen3_5TextConfig(
    vocab_size=248320, hidden_size=2560, intermediate_size=9216, num_hidden_layers=args.layers,
    num_attention_heads=16, num_key_value_heads=4, head_dim=256, linear_conv_kernel_dim=4,
    linear_key_head_dim=128, linear_value_head_dim=128, linear_num_key_heads=16, linear_num_value_heads=32,
    tie_word_embeddings=True,
    rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25})
with torch.device("cuda"):
    model = transformers.Qwen3_5ForCausalLM(config).to(torch.bfloat16)
model.eval()
model.requires_grad_(False)

for index, layer in enumerate(model.model.layers):
    if not hasattr(layer, "linear_attn"):
        continue
    inner = layer.linear_attn.forward

    def forward_as_layer(*a, _index=index, _inner=inner, **kw):
        running["layer"] = _index
        try:
            return _inner(*a, **kw)
        finally:
            running["layer"] = None

    layer.linear_attn.forward = forward_as_layer
    states[index] = torch.nn.Parameter(torch.zeros(config.linear_num_value_heads, config.linear_key_head_dim,
                                                   config.linear_value_head_dim, device="cuda"))

examples = []
with open(args.data) as f:
    for line in f:
        e = json.loads(line)
        ids = torch.tensor(e["ids"], device="cuda")
        labels = ids.clone()
        labels[: e["prompt_len"]] = -100
        examples.append((ids, labels))
tokens = sum(ids.numel() for ids, _ in examples)

params = list(states.values())
optimizer = torch.optim.Adam(params, lr=1e-3)
step_s = []
for step in range(args.steps):
    torch.cuda.synchronize()
    t0 = time.time()
    optimizer.zero_grad()
    for ids, labels in examples:
        loss = model(input_ids=ids[None], labels=labels[None]).loss
        (loss / len(examples)).backward()
    (5e-4 * sum((p * p).sum() for p in params)).backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    torch.cuda.synchronize()
    step_s.append(time.time() - t0)
    print(f"step {step}: {step_s[-1]:.2f} s, last loss {float(loss):.3f}, "
          f"peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB", flush=True)

best = min(step_s[1:] or step_s)
print("RESULT " + json.dumps({
    "kernels": kernels, "transformers": transformers.__version__, "torch": torch.__version__,
    "gpu": torch.cuda.get_device_name(), "examples": len(examples), "tokens_per_step": tokens,
    "step_s": step_s, "best_step_s": best, "tokens_per_s": tokens / best,
    "peak_gib": torch.cuda.max_memory_allocated() / 2**30}), flush=True)
