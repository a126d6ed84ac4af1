// Writes the benchmark text: HumanEval code (prompt, solution, tests), GSM8K word problems with
// their worked answers, and MATH-500 LaTeX, interleaved document by document (about 4.4 MB).
// Usage: node make_corpus.mjs DATASETS_DIR OUT_FILE
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [datasets, out] = process.argv.slice(2);
const rows = (name) => readFileSync(join(datasets, name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const code = rows("humaneval.jsonl").map((r) => r.prompt + r.canonical_solution + "\n\n" + r.test);
const prose = rows("gsm8k_train.jsonl").map((r) => r.question + "\n" + r.answer);
const math = rows("math500.jsonl").map((r) => r.problem + "\n" + r.solution);
const sources = [code, prose, math];
const docs = [];
for (let i = 0; sources.some((s) => i < s.length); ++i) {
  for (const s of sources) if (i < s.length) docs.push(s[i]);
}
writeFileSync(out, docs.join("\n\n"));
