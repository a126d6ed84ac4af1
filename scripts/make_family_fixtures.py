#!/usr/bin/env python3
"""Reference fixtures for the model families of issue 14, made with transformers itself.

For each case: a random tiny config that exercises the family's options is built with transformers'
own config class, the model is created from it, its weights are drawn at random, and it is saved
with `save_pretrained` (so config.json and the tensor names are exactly what transformers 5 writes).
One case per expert layout is then rewritten to the other layout (stacked `experts.gate_up_proj`
versus one tensor per expert) and must load back in transformers.

The truth is computed in float64 from the saved folder, in transformers' own modules, with three
changes that make it float64 throughout and let S0 in:
  - casts of float64 tensors to float32 (`.float()`, `.to(float32)`, `.type(float32)`,
    `softmax(dtype=float32)`) keep float64, and the rotary inverse frequencies are recomputed in float64;
  - the GatedDeltaNet kernel and the Mamba-2 mixer's scan run token by token in float64, starting
    from the layer's S0 (zeros when none) and recording the final state;
  - no cache: greedy generation recomputes the whole prefix each step.
Before any patch, the float32 transformers model (unpatched, loaded from the same folder) gives the
zero-state logits; the float64 logits must agree with them to float32 accuracy (printed as
`self-check`), which shows the patched model still computes what transformers computes.

Outputs per case, in the format of ../shared/fixtures (see its README): config.json,
model.safetensors, reference.json, reference.safetensors.

usage: make_family_fixtures.py --out DIR [--only NAME ...]
"""
import argparse, copy, json, math, os, sys, traceback

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

torch.set_num_threads(min(8, os.cpu_count() or 1))
L2, LR, CLIP, STEPS, BETAS, EPS, GEN_NEW = 5e-4, 1e-3, 1.0, 3, (0.9, 0.999), 1e-8, 10

# ----------------------------------------------------------------------------- float64 mode
_orig_to, _orig_float, _orig_type, _orig_softmax = torch.Tensor.to, torch.Tensor.float, torch.Tensor.type, F.softmax


def _to(self, *args, **kwargs):
    # Integer positions and masks become float64 too, where transformers would make them float32.
    args = tuple(torch.float64 if a is torch.float32 else a for a in args)
    if kwargs.get("dtype") is torch.float32:
        kwargs["dtype"] = torch.float64
    return _orig_to(self, *args, **kwargs)


def _float(self, *args, **kwargs):
    return _orig_to(self, torch.float64)


def _type(self, dtype=None, *args, **kwargs):
    # Nemotron-H's router casts with .type(torch.float32).
    return _orig_type(self, torch.float64 if dtype is torch.float32 else dtype, *args, **kwargs)


def _softmax(input, *args, **kwargs):
    if input.dtype == torch.float64 and kwargs.get("dtype") is torch.float32:
        kwargs["dtype"] = None
    return _orig_softmax(input, *args, **kwargs)


def float64_mode():
    torch.Tensor.to, torch.Tensor.float, torch.Tensor.type, F.softmax = _to, _float, _type, _softmax


def f32(t):
    return _orig_to(t.detach(), torch.float32).contiguous()


# ----------------------------------------------------------------------------- recurrences in float64
STATES, FINALS, CALLS = {}, {}, {"gdn": 0, "mamba": 0}


def l2n(x, eps=1e-6):
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + eps)


def gated_delta64(layer):
    """The gated delta rule token by token ([B, T, H, D] inputs as transformers passes them)."""

    def run(query, key, value, g=None, beta=None, chunk_size=64, initial_state=None, output_final_state=False,
            use_qk_l2norm_in_kernel=False, **kw):
        CALLS["gdn"] += 1
        dtype = query.dtype
        q, k, v, g, beta = (x.double() for x in (query, key, value, g, beta))
        nv = v.shape[2]
        if k.shape[2] != nv:  # grouped value heads: each key head serves consecutive value heads
            q, k = (x.repeat_interleave(nv // x.shape[2], dim=2) for x in (q, k))
        if use_qk_l2norm_in_kernel:
            q, k = l2n(q), l2n(k)
        q = q * q.shape[-1] ** -0.5
        B, T, H, dk = k.shape
        S = STATES.get(layer)
        S = torch.zeros(B, H, dk, v.shape[-1], dtype=torch.float64) if S is None else S.double().expand(B, -1, -1, -1)
        outs = []
        for t in range(T):
            S = S * g[:, t].exp()[..., None, None]
            kv = torch.einsum("bhkv,bhk->bhv", S, k[:, t])
            delta = (v[:, t] - kv) * beta[:, t][..., None]
            S = S + k[:, t][..., :, None] * delta[..., None, :]
            outs.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
        FINALS[layer] = S[0]
        return torch.stack(outs, 1).to(dtype), (S if output_final_state else None)

    return run


def mamba64(mod, layer):
    """A Mamba-2 mixer's forward without cache: transformers' projections, conv and gated norm, the
    scan token by token in float64 from the layer's S0."""

    def forward(hidden_states, *a, **kw):
        CALLS["mamba"] += 1
        x = hidden_states
        Bsz, T, _ = x.shape
        d, G, N, H, P = mod.intermediate_size, mod.n_groups, mod.ssm_state_size, mod.num_heads, mod.head_dim
        zxbcdt = mod.in_proj(x)
        gate, xBC, dt = zxbcdt.split([d, d + 2 * G * N, H], -1)
        xBC = mod.act(mod.conv1d(xBC.transpose(1, 2))[..., :T].transpose(1, 2))
        xs, Bm, Cm = xBC.split([d, G * N, G * N], -1)
        xs = xs.reshape(Bsz, T, H, P)
        Bm = Bm.reshape(Bsz, T, G, N).repeat_interleave(H // G, 2)
        Cm = Cm.reshape(Bsz, T, G, N).repeat_interleave(H // G, 2)
        dt = F.softplus(dt + mod.dt_bias)
        lo, hi = mod.time_step_limit
        dt = dt.clamp(min=lo, max=hi)
        A = -mod.A_log.exp()
        S = STATES.get(layer)
        S = torch.zeros(Bsz, H, P, N, dtype=x.dtype) if S is None else S.to(x.dtype).expand(Bsz, -1, -1, -1)
        ys = []
        for t in range(T):
            S = S * (dt[:, t] * A).exp()[..., None, None] + (dt[:, t][..., None] * xs[:, t])[..., None] * Bm[:, t][:, :, None, :]
            ys.append(torch.einsum("bhpn,bhn->bhp", S, Cm[:, t]) + mod.D[:, None] * xs[:, t])
        FINALS[layer] = S[0]
        y = torch.stack(ys, 1).reshape(Bsz, T, d)
        return mod.out_proj(mod.norm(y, gate))

    return forward


def is_gdn(m):
    return hasattr(m, "A_log") and hasattr(m, "conv1d") and hasattr(m, "dt_bias") and not hasattr(m, "ssm_state_size")


def is_mamba(m):
    return hasattr(m, "A_log") and hasattr(m, "ssm_state_size") and hasattr(m, "in_proj")


def decoder_layers(model):
    for name, m in model.named_modules():
        if name.endswith("layers") and isinstance(m, torch.nn.ModuleList) and "visual" not in name and "mtp" not in name:
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            return m, parent
    raise RuntimeError("no decoder layer list")


def recurrent_mixers(model):
    layers, _ = decoder_layers(model)
    found = {}
    for i, layer in enumerate(layers):
        for m in layer.modules():
            if is_mamba(m):
                found[i] = ("mamba2", m)
            elif is_gdn(m):
                found[i] = ("gated_delta_net", m)
    return found


def state_shape(kind, m):
    if kind == "mamba2":
        return (m.num_heads, m.head_dim, m.ssm_state_size)
    return (m.num_v_heads, m.head_k_dim, m.head_v_dim)


def install_recurrences(model):
    found = recurrent_mixers(model)
    for i, (kind, m) in found.items():
        if kind == "mamba2":
            m.forward = mamba64(m, i)
        else:
            fn = gated_delta64(i)
            m.chunk_gated_delta_rule = fn
            m.recurrent_gated_delta_rule = fn
            mod = sys.modules[type(m).__module__]
            for name in ("torch_chunk_gated_delta_rule", "torch_recurrent_gated_delta_rule", "chunk_gated_delta_rule",
                         "fused_recurrent_gated_delta_rule"):
                if hasattr(mod, name):
                    PATCHED.append((mod, name, getattr(mod, name)))
                    setattr(mod, name, _by_layer)
            f = m.forward

            def fwd(*a, _i=i, _f=f, **kw):
                CUR["layer"] = _i
                try:
                    return _f(*a, **kw)
                finally:
                    CUR["layer"] = None
            m.forward = fwd
    return found


CUR = {"layer": None}
PATCHED = []  # (module, name, original): restored after each case


def _by_layer(*a, **kw):  # module-level GatedDeltaNet kernels, for code that calls them by name
    return gated_delta64(CUR["layer"])(*a, **kw)


def rotary_in_float64(model):
    for m in model.modules():
        inv = getattr(m, "inv_freq", None)
        cfg = getattr(m, "config", None)
        if inv is None or cfg is None or getattr(m, "rope_type", None) != "default" or "Vision" in type(m).__name__:
            continue
        rp = getattr(cfg, "rope_parameters", None) or {}
        base = rp.get("rope_theta", getattr(cfg, "rope_theta", None))
        # the rotary dimension is 2n or 2n - 1 for n frequencies
        exact = [1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)) for dim in (2 * inv.numel(),
                                                                                              2 * inv.numel() - 1)]
        exact = [e for e in exact if torch.allclose(e, _orig_to(inv, torch.float64), rtol=1e-5)]
        if not exact:
            raise RuntimeError(f"rotary {type(m).__name__}: no float64 statement of its inverse frequencies")
        m.inv_freq = exact[0]
        if hasattr(m, "original_inv_freq"):
            m.original_inv_freq = exact[0].clone()


# ----------------------------------------------------------------------------- weights and layouts
def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = lambda sd: torch.randn(p.shape, generator=g) * sd
            if name.endswith("A_log"):
                p.copy_(torch.rand(p.shape, generator=g) * 2.5)
            elif name.endswith("dt_bias"):
                p.copy_(r(0.7))
            elif name.endswith(".D"):
                p.copy_(1.0 + r(0.3))
            elif "norm" in name and p.dim() == 1:
                p.copy_(p + r(0.15))  # around the init: 0 for zero-centred norms, 1 otherwise
            elif "conv1d.weight" in name:
                p.copy_(r(0.35))
            elif p.dim() == 1:
                p.copy_(r(0.1))  # biases
            else:
                p.copy_(r(0.2))
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):  # a buffer, saved with the weights: it changes the choice
                b.copy_(torch.randn(b.shape, generator=g) * 0.3)


def stacked_to_per_expert(W):
    out = {}
    for k, v in W.items():
        if k.endswith("experts.gate_up_proj"):
            base, I = k[: -len("gate_up_proj")], v.shape[1] // 2
            for e in range(v.shape[0]):
                out[f"{base}{e}.gate_proj.weight"] = v[e, :I].clone()
                out[f"{base}{e}.up_proj.weight"] = v[e, I:].clone()
        elif k.endswith("experts.down_proj"):
            base = k[: -len("down_proj")]
            for e in range(v.shape[0]):
                out[f"{base}{e}.down_proj.weight"] = v[e].clone()
        else:
            out[k] = v
    return out


def per_expert_to_stacked(W):
    out, experts = {}, {}
    for k, v in W.items():
        parts = k.split(".")
        if "experts" in parts and parts[-1] == "weight" and parts[parts.index("experts") + 1].isdigit():
            j = parts.index("experts")
            base = ".".join(parts[: j + 1]) + "."
            experts.setdefault(base, {}).setdefault(int(parts[j + 1]), {})[parts[j + 2]] = v
        else:
            out[k] = v
    for base, es in experts.items():
        E = len(es)
        out[base + "gate_up_proj"] = torch.stack([torch.cat([es[e]["gate_proj"], es[e]["up_proj"]]) for e in range(E)])
        out[base + "down_proj"] = torch.stack([es[e]["down_proj"] for e in range(E)])
    return out


def config_as_pattern(folder):
    """Nemotron-H's legacy config: hybrid_override_pattern ("M*E-") in place of layers_block_type."""
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        c = json.load(f)
    marks = {"linear_attention": "M", "moe": "E", "full_attention": "*", "mlp": "-"}
    c["hybrid_override_pattern"] = "".join(marks[t] for t in c.pop("layers_block_type"))
    with open(path, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)


def swap_expert_layout(folder):
    path = os.path.join(folder, "model.safetensors")
    W = load_file(path)
    stacked = any(k.endswith("experts.gate_up_proj") for k in W)
    W2 = stacked_to_per_expert(W) if stacked else per_expert_to_stacked(W)
    save_file(W2, path, metadata={"format": "pt"})
    return "one tensor per expert" if stacked else "stacked"


# ----------------------------------------------------------------------------- the reference
def logits_of(model, ids):
    return model(input_ids=ids[None], use_cache=False).logits[0]


def ce(logits, ids, P):
    return F.cross_entropy(logits[P - 1:-1], ids[P:])


def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def with_eager_experts(make, what):
    """Eager attention and, where the family has them, the eager (per-expert loop) experts."""
    try:
        return make(what, attn_implementation="eager", experts_implementation="eager")
    except (TypeError, ValueError):
        return make(what, attn_implementation="eager")


def make_case(out, case):
    name, cls_name, cfg, seed, seqs = case["name"], case["class"], case["config"], case["seed"], case["seqs"]
    cls = getattr(transformers, cls_name)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = with_eager_experts(cls._from_config, cfg())
    randomize(model, seed)
    model.save_pretrained(d)
    layout = None
    if case.get("swap_expert_layout"):
        layout = swap_expert_layout(d)
    if case.get("config_as_pattern"):
        config_as_pattern(d)
    m32 = with_eager_experts(cls.from_pretrained, d).eval()
    vocab = m32.config.get_text_config().vocab_size
    g = torch.Generator().manual_seed(seed + 1)
    ids_list = [(torch.randint(0, vocab, (T,), generator=g), P) for T, P in seqs]
    try:
        with torch.no_grad():
            lz32 = [logits_of(m32, ids) for ids, _ in ids_list]
    except Exception as e:  # e.g. a GPU-only kernel picked for CPU tensors: no self-check then
        print(f"  warning: float32 transformers forward failed ({e}); no self-check", flush=True)
        lz32 = None
    del m32

    float64_mode()
    model = with_eager_experts(cls.from_pretrained, d).double().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    rotary_in_float64(model)
    found = install_recurrences(model)
    rec = sorted(found)
    shapes = {state_shape(*found[i]) for i in rec}
    kinds = {found[i][0] for i in rec}
    assert len(shapes) == 1 and len(kinds) == 1, (shapes, kinds)
    shp, kind = shapes.pop(), kinds.pop()

    layers, parent = decoder_layers(model)
    final_norm = next(getattr(parent, n) for n in ("norm", "norm_f", "final_layernorm") if hasattr(parent, n))
    hidden = []
    layers[0].register_forward_pre_hook(
        lambda mod, args, kwargs: hidden.append(kwargs.get("hidden_states", args[0] if args else None)),
        with_kwargs=True)
    for layer in layers:
        layer.register_forward_hook(lambda mod, args, o: hidden.append(o[0] if isinstance(o, tuple) else o))
    final_norm.register_forward_hook(lambda mod, args, o: hidden.append(o))

    t, meta = {}, {"generator": f"scripts/make_family_fixtures.py, transformers {transformers.__version__}, float64",
                   "architecture": cls_name, "recurrent_layers": rec, "state_shape": list(shp), "arch": kind,
                   "sequences": [], "loss": {}, "train": {}, "generate": {}}
    if layout:
        meta["expert_layout"] = layout
    g = torch.Generator().manual_seed(seed + 2)
    s0 = {i: torch.randn(shp, generator=g, dtype=torch.float64) * 0.5 for i in rec}
    for k, (ids, P) in enumerate(ids_list):
        t[f"ids.{k}"] = ids.long()
        meta["sequences"].append({"length": len(ids), "prompt_len": P})
    for i in rec:
        t[f"s0.{i}"] = f32(s0[i])
    check = 0.0
    with torch.no_grad():
        for k, (ids, P) in enumerate(ids_list):
            STATES.clear()
            hidden.clear()
            calls = dict(CALLS)
            lz = logits_of(model, ids)
            if CALLS["gdn"] + CALLS["mamba"] == calls["gdn"] + calls["mamba"]:
                raise RuntimeError("the float64 recurrence was never called")
            t[f"logits.zero.{k}"] = f32(lz)
            check = max(check, rel(lz, lz32[k])) if lz32 else float("nan")
            STATES.update(s0)
            hidden.clear()
            FINALS.clear()
            t[f"logits.s0.{k}"] = f32(logits_of(model, ids))
            for i in rec:
                t[f"final_state.s0.{k}.{i}"] = f32(FINALS[i])
            if k == 0:
                if len(hidden) != len(layers) + 2:
                    raise RuntimeError(f"{len(hidden)} hidden states for {len(layers)} layers")
                for j, h in enumerate(hidden):
                    t[f"hidden.s0.0.{j}"] = f32(h[0])
    meta["self_check"] = {"zero_state_logits_vs_transformers_float32": check}

    params = {i: s0[i].clone().requires_grad_(True) for i in rec}
    STATES.clear()
    STATES.update(params)
    J = 0.0
    for k, (ids, P) in enumerate(ids_list):
        loss = ce(logits_of(model, ids), ids, P)
        meta["loss"][f"s0.{k}"] = float(loss)
        J = J + loss / len(ids_list)
    J = J + L2 * sum((p * p).sum() for p in params.values())
    J.backward()
    meta["loss"].update(objective=float(J), l2_lambda=L2,
                        definition="J = mean over sequences of completion-only CE + l2_lambda * sum over layers of ||S0||^2")
    for i in rec:
        t[f"grad.{i}"] = f32(params[i].grad)

    Ps = {i: torch.zeros(shp, dtype=torch.float64, requires_grad=True) for i in rec}
    m = {i: torch.zeros(shp, dtype=torch.float64) for i in rec}
    v = {i: torch.zeros(shp, dtype=torch.float64) for i in rec}
    STATES.clear()
    STATES.update(Ps)
    losses = []
    for step in range(1, STEPS + 1):
        for p in Ps.values():
            p.grad = None
        tot = 0.0
        for ids, P in ids_list:
            loss = ce(logits_of(model, ids), ids, P)
            (loss / len(ids_list)).backward()
            tot += float(loss)
        (L2 * sum((p * p).sum() for p in Ps.values())).backward()
        gn = math.sqrt(sum(float((p.grad ** 2).sum()) for p in Ps.values()))
        coef = min(1.0, CLIP / (gn + 1e-6))
        with torch.no_grad():
            for i, p in Ps.items():
                gr = p.grad * coef
                m[i] = BETAS[0] * m[i] + (1 - BETAS[0]) * gr
                v[i] = BETAS[1] * v[i] + (1 - BETAS[1]) * gr * gr
                p -= LR * (m[i] / (1 - BETAS[0] ** step)) / ((v[i] / (1 - BETAS[1] ** step)).sqrt() + EPS)
        losses.append(tot / len(ids_list))
        for i in rec:
            t[f"train.step{step}.{i}"] = f32(Ps[i])
    meta["train"] = {"optimizer": "adam", "lr": LR, "betas": list(BETAS), "eps": EPS, "l2_lambda": L2, "grad_clip": CLIP,
                     "clip_rule": "scale = min(1, clip / (total_norm + 1e-6)), as torch.nn.utils.clip_grad_norm_",
                     "steps": STEPS, "init": "zeros", "mean_loss_per_step": losses,
                     "note": "mean_loss_per_step[k] is measured before update k; states after each update are train.step{k}.{layer}"}

    ids0, P0 = ids_list[0]
    with torch.no_grad():
        for tag, st in (("zero", {}), ("s0", s0)):
            STATES.clear()
            STATES.update(st)
            seq, margins = ids0[:P0].clone(), []
            for _ in range(GEN_NEW):
                lg = logits_of(model, seq)[-1]
                top = torch.topk(lg, 2).values
                margins.append(float(top[0] - top[1]))
                seq = torch.cat([seq, lg.argmax().view(1)])
            t[f"gen.{tag}"] = seq[P0:].long()
            meta["generate"][tag] = {"prompt": "ids.0[:prompt_len]",
                                     "initial_state": "none" if not st else "s0 (alpha = 1)",
                                     "tokens": seq[P0:].tolist(), "top1_top2_margin": margins}
    STATES.clear()
    save_file(t, os.path.join(d, "reference.safetensors"))
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
    for extra in os.listdir(d):  # save_pretrained may add generation_config.json: keep only the fixture files
        if extra not in ("config.json", "model.safetensors", "reference.json", "reference.safetensors"):
            os.remove(os.path.join(d, extra))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: {kind} layers {rec} state {list(shp)} J {float(J):.4f} self-check {check:.2e} "
          f"min margin {min(meta['generate']['zero']['top1_top2_margin'] + meta['generate']['s0']['top1_top2_margin']):.3g} "
          f"layout {layout or 'as saved'} {size // 1024} KB", flush=True)
    return check


# ----------------------------------------------------------------------------- the cases
def qwen_rope(partial=0.25, theta=10000.0, **kw):
    return dict(rope_type="default", rope_theta=theta, partial_rotary_factor=partial, **kw)


def cases():
    C = transformers
    q35moe_text = lambda: C.Qwen3_5MoeTextConfig(
        vocab_size=128, hidden_size=24, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        layer_types=["linear_attention", "linear_attention", "full_attention", "linear_attention"],
        linear_conv_kernel_dim=4, linear_key_head_dim=8, linear_value_head_dim=6, linear_num_key_heads=2,
        linear_num_value_heads=4, moe_intermediate_size=8, shared_expert_intermediate_size=12, num_experts=5,
        num_experts_per_tok=2, attention_bias=True, tie_word_embeddings=False, rope_parameters=qwen_rope(),
        max_position_embeddings=4096, eos_token_id=2)
    q35moe_vl = lambda: C.Qwen3_5MoeConfig(
        text_config=dict(vocab_size=112, hidden_size=20, num_hidden_layers=3, num_attention_heads=2,
                         num_key_value_heads=1, head_dim=16, layer_types=["linear_attention", "full_attention",
                                                                           "linear_attention"],
                         linear_key_head_dim=8, linear_value_head_dim=8, linear_num_key_heads=1,
                         linear_num_value_heads=2, moe_intermediate_size=6, shared_expert_intermediate_size=10,
                         num_experts=6, num_experts_per_tok=3, tie_word_embeddings=True,
                         rope_parameters=qwen_rope(0.5, mrope_section=[2, 1, 1], mrope_interleaved=True),
                         eos_token_id=[2, 3]),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=16, num_heads=2, out_hidden_size=20,
                           patch_size=2, num_position_embeddings=16),
        tie_word_embeddings=True, image_token_id=100, video_token_id=101, vision_start_token_id=102,
        vision_end_token_id=103)
    q3next = lambda: C.Qwen3NextConfig(
        vocab_size=128, hidden_size=24, intermediate_size=20, num_hidden_layers=4, num_attention_heads=2,
        num_key_value_heads=1, head_dim=12, layer_types=["linear_attention", "linear_attention", "linear_attention",
                                                         "full_attention"],
        linear_conv_kernel_dim=3, linear_key_head_dim=6, linear_value_head_dim=8, linear_num_key_heads=2,
        linear_num_value_heads=4, decoder_sparse_step=1, mlp_only_layers=[1], moe_intermediate_size=8,
        shared_expert_intermediate_size=10, num_experts=4, num_experts_per_tok=2, norm_topk_prob=False,
        tie_word_embeddings=False, rope_parameters=qwen_rope(0.5, 5e4), eos_token_id=2)
    bamba = lambda: C.BambaConfig(
        vocab_size=128, hidden_size=24, intermediate_size=20, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=1, attn_layer_indices=[1], mamba_n_heads=6, mamba_d_head=8, mamba_n_groups=2,
        mamba_d_state=8, mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=16, mamba_conv_bias=True,
        mamba_proj_bias=False, tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 1e4})
    granite = lambda: C.GraniteMoeHybridConfig(
        vocab_size=128, hidden_size=24, intermediate_size=16, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=1, layer_types=["mamba", "attention", "mamba"], mamba_n_heads=4, mamba_d_head=12,
        mamba_n_groups=1, mamba_d_state=6, mamba_d_conv=3, mamba_expand=2, mamba_chunk_size=16,
        num_local_experts=4, num_experts_per_tok=2, shared_intermediate_size=12, embedding_multiplier=3.0,
        logits_scaling=2.5, residual_multiplier=0.6, attention_multiplier=0.2, position_embedding_type="rope",
        tie_word_embeddings=True)
    nemo = lambda: C.NemotronHConfig(
        vocab_size=128, hidden_size=24, layers_block_type=["linear_attention", "full_attention", "mlp",
                                                            "linear_attention", "mlp"],
        num_attention_heads=2, num_key_value_heads=1, head_dim=12, intermediate_size=28, mamba_num_heads=4,
        mamba_head_dim=6, ssm_state_size=8, n_groups=2, conv_kernel=4, expand=1, chunk_size=16,
        tie_word_embeddings=False, use_conv_bias=True, layer_norm_epsilon=1e-5)
    nemo_moe = lambda: C.NemotronHConfig(
        vocab_size=96, hidden_size=20, hybrid_override_pattern="M*EM-E", num_attention_heads=2,
        num_key_value_heads=1, head_dim=10, intermediate_size=16, mamba_num_heads=4, mamba_head_dim=5,
        ssm_state_size=6, n_groups=2, conv_kernel=3, expand=1, chunk_size=16, n_routed_experts=8,
        num_experts_per_tok=3, n_group=4, topk_group=2, moe_intermediate_size=10,
        moe_shared_expert_intermediate_size=14, routed_scaling_factor=2.5, norm_topk_prob=True, mlp_bias=True,
        tie_word_embeddings=True, use_conv_bias=True, layer_norm_epsilon=1e-5)
    return [
        dict(name="qwen35-moe-text", **{"class": "Qwen3_5MoeForCausalLM"}, config=q35moe_text, seed=21,
             seqs=[(40, 16), (26, 10)]),
        dict(name="qwen35-moe-vl-tied", **{"class": "Qwen3_5MoeForConditionalGeneration"}, config=q35moe_vl, seed=22,
             seqs=[(33, 12), (20, 19)], swap_expert_layout=True),
        dict(name="qwen3-next", **{"class": "Qwen3NextForCausalLM"}, config=q3next, seed=23, seqs=[(38, 14), (24, 9)]),
        dict(name="bamba", **{"class": "BambaForCausalLM"}, config=bamba, seed=24, seqs=[(36, 12), (22, 8)]),
        dict(name="granite-h-moe-tied", **{"class": "GraniteMoeHybridForCausalLM"}, config=granite, seed=25,
             seqs=[(34, 12), (21, 9)]),
        dict(name="nemotron-h", **{"class": "NemotronHForCausalLM"}, config=nemo, seed=26, seqs=[(35, 13), (23, 8)]),
        dict(name="nemotron-h-moe", **{"class": "NemotronHForCausalLM"}, config=nemo_moe, seed=27,
             seqs=[(33, 12), (21, 8)], config_as_pattern=True),
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    print("transformers", transformers.__version__, "torch", torch.__version__, flush=True)
    bad = []
    for case in cases():
        if args.only and case["name"] not in args.only:
            continue
        try:
            if make_case(args.out, case) > 1e-3:
                bad.append(case["name"] + " (self-check)")
        except Exception:
            traceback.print_exc()
            bad.append(case["name"])
        finally:
            torch.Tensor.to, torch.Tensor.float, torch.Tensor.type, F.softmax = (_orig_to, _orig_float, _orig_type,
                                                                                 _orig_softmax)
            for mod, name, orig in reversed(PATCHED):
                setattr(mod, name, orig)
            PATCHED.clear()
    print("FAILED: " + ", ".join(bad) if bad else "ALL MADE", flush=True)
    sys.exit(1 if bad else 0)
