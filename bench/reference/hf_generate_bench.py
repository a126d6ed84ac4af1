#!/usr/bin/env python3
"""The HumanEval greedy workload through transformers generate(), timed beside bench/humaneval_bench.

Loads the checkpoint folder with AutoModelForCausalLM in bf16 on cuda, renders each prompt (the user
messages bench/humaneval_bench --write-prompts wrote) through the folder's chat template with
thinking disabled and tokenizes it without special tokens, as s0 does; then generates greedily,
left-padded batches of --batch prompts in file order, up to --max-new-tokens each, stopping a
sequence at the EOS ids s0 uses (--eos-ids; humaneval_bench prints them). Times the generate()
calls alone (CUDA synchronised around each), after the model is loaded.

Prints the digest of all prompts' token ids (FNV-1a 64 over each prompt's ids in decimal,
comma-separated, a newline after each: the digest humaneval_bench prints) and a last line
"RESULT {json}". With --deadline (a Unix time: a device call's end), no batch after the first starts
once it would end past the deadline (judged by the last batch's time): the result then says how many
prompts ran ("partial": true) and its tokens/s covers those only.

usage: hf_generate_bench.py --model DIR --prompts FILE.jsonl --eos-ids 0[,ID...]
                            [--batch 8] [--max-new-tokens 512] [--deadline UNIX_TIME] [--device cuda]
"""
import argparse
import json
import time


def ids_digest(prompts):
    """FNV-1a 64 of the prompts' ids, as s0's content_digest over the same text (core/digest.h)."""
    h = 0xCBF29CE484222325
    text = "".join(",".join(str(i) for i in ids) + "\n" for ids in prompts)
    for byte in text.encode("ascii"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def new_token_count(row, eos_ids):
    """Tokens generated before the first EOS (s0 counts the same: the EOS is not a token of the text)."""
    for n, token in enumerate(row):
        if token in eos_ids:
            return n
    return len(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint folder with tokenizer.json and the chat template")
    ap.add_argument("--prompts", required=True, help='JSON lines {"prompt": USER MESSAGE} (humaneval_bench writes them)')
    ap.add_argument("--eos-ids", required=True, help="comma-separated token ids that end a sequence (s0's)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=512)
    ap.add_argument("--deadline", type=float, default=0, help="Unix time past which no batch may end; 0: none")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    if args.batch < 1 or args.max_new_tokens < 1:
        raise SystemExit("hf_generate_bench.py: --batch and --max-new-tokens must be at least 1")
    eos_ids = [int(x) for x in args.eos_ids.split(",")]

    import torch  # after argument parsing: --help works without a GPU stack
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(args.model)
    with open(args.prompts, encoding="utf-8") as f:
        prompts = [json.loads(line)["prompt"] for line in f if line.strip()]
    ids = []
    for p in prompts:
        text = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                       enable_thinking=False, tokenize=False)
        ids.append(tok(text, add_special_tokens=False)["input_ids"])
    digest = ids_digest(ids)
    prompt_tokens = sum(len(x) for x in ids)
    print(f"transformers {transformers.__version__}: {len(ids)} prompts, {prompt_tokens} prompt tokens, "
          f"ids digest {digest}", flush=True)

    t = time.perf_counter()
    model, info = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16,
                                                                     output_loading_info=True)
    model = model.to(args.device).eval()
    missing = info.get("missing_keys", [])
    unexpected = info.get("unexpected_keys", [])
    # Weights the checkpoint lacks would be initialised at random: the cost is the same, but say so.
    if missing or unexpected:
        print(f"WARNING: {len(missing)} missing weights {sorted(missing)[:4]}, {len(unexpected)} unexpected "
              f"{sorted(unexpected)[:4]}", flush=True)
    cuda = args.device.startswith("cuda")
    card = torch.cuda.get_device_name(torch.device(args.device)) if cuda else args.device
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    pad = tok.pad_token_id if tok.pad_token_id is not None else eos_ids[0]
    print(f"transformers: {type(model).__name__} loaded on {card} in {time.perf_counter() - t:.1f} s; greedy, "
          f"up to {args.max_new_tokens} new tokens, batches of {args.batch}, EOS ids {eos_ids}", flush=True)

    seconds, tokens, done, last = 0.0, 0, 0, 0.0
    with torch.inference_mode():
        for start in range(0, len(ids), args.batch):
            if args.deadline and done and time.time() + last > args.deadline:
                break
            rows = ids[start:start + args.batch]
            width = max(len(r) for r in rows)
            input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=args.device)
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=args.device)
            sync()
            t = time.perf_counter()
            out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=args.max_new_tokens,
                                 do_sample=False, eos_token_id=eos_ids, pad_token_id=pad)
            sync()
            last = time.perf_counter() - t
            seconds += last
            new = out[:, width:].tolist()
            tokens += sum(new_token_count(r, eos_ids) for r in new)
            done += len(rows)
            print(f"transformers: prompts {start}-{start + len(rows) - 1}: {last:.2f} s", flush=True)

    partial = done < len(ids)
    print(f"transformers: generated {tokens} tokens for {done} of {len(ids)} prompts in {seconds:.2f} s, "
          f"{tokens / seconds:.1f} tokens/s" + (" (stopped at the deadline)" if partial else ""), flush=True)
    print("RESULT " + json.dumps({"side": "transformers", "device": card, "prompts": done, "prompts_total": len(ids),
                                  "partial": partial, "prompt_tokens": prompt_tokens, "digest": digest,
                                  "eos_ids": eos_ids, "batch": args.batch, "max_new_tokens": args.max_new_tokens,
                                  "seconds": seconds, "tokens": tokens, "missing_weights": len(missing)}))


if __name__ == "__main__":
    main()
