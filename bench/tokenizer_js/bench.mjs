// Encode throughput of @huggingface/tokenizers (Hugging Face's JavaScript tokenizers) on the
// benchmark text, measured the same way as bench/tokenizer_bench.cpp: one cold encode of the
// whole text, the mean of repeated warm encodes of it, and the mean of repeated encodes of its
// lines one by one (many short texts, like training examples). Prints one line per measurement.
// Usage: node bench.mjs MODEL_DIR TEXT_FILE [REPEATS]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [model, textFile, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 3);
const tokenizer = new Tokenizer(
  JSON.parse(readFileSync(join(model, "tokenizer.json"), "utf8")),
  JSON.parse(readFileSync(join(model, "tokenizer_config.json"), "utf8")),
);
const bytes = readFileSync(textFile);
const text = bytes.toString("utf8");
const mb = bytes.length / 1e6;
const encode = () => tokenizer.encode(text, { add_special_tokens: false }).ids;

// FNV-1a over the ids, to check both implementations produce the same ids.
const fnv = (ids) => {
  let h = 0x811c9dc5;
  for (const id of ids) h = Math.imul(h ^ id, 0x01000193) >>> 0;
  return h.toString(16);
};

let t0 = process.hrtime.bigint();
const ids = encode();
let seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`js cold: ${(mb / seconds).toFixed(2)} MB/s ids=${ids.length} fnv=${fnv(ids)}`);
t0 = process.hrtime.bigint();
for (let r = 0; r < repeats; ++r) encode();
seconds = Number(process.hrtime.bigint() - t0) / 1e9 / repeats;
console.log(`js warm: ${(mb / seconds).toFixed(2)} MB/s`);

const lines = text.split("\n");
const encodeLines = () => lines.map((l) => tokenizer.encode(l, { add_special_tokens: false }).ids).flat();
const lineIds = encodeLines();
t0 = process.hrtime.bigint();
for (let r = 0; r < repeats; ++r) encodeLines();
seconds = Number(process.hrtime.bigint() - t0) / 1e9 / repeats;
console.log(`js lines: ${(mb / seconds).toFixed(2)} MB/s ids=${lineIds.length} fnv=${fnv(lineIds)}`);
