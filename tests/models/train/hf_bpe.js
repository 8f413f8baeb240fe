// The Hugging Face tokenizers library (Rust, through its Node binding) as the reference for BPE training
// and for encoding with a tokenizer.json we trained.
// Usage: node hf_bpe.js train TEXT_FILE OUT_JSON
//          trains HF's default BpeTrainer (tokenizer.train) over a ByteLevel pre-tokenizer on TEXT_FILE
//        node hf_bpe.js encode TOKENIZER_JSON TEXTS_JSON OUT_JSON
//          TEXTS_JSON: array of strings; writes [{ids, offsets (code points), decoded}] per text
'use strict';
const fs = require('fs');
const tk = require('tokenizers');

async function main() {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'train') {
    const empty = {
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [] },
    };
    const t = tk.Tokenizer.fromString(JSON.stringify(empty));
    t.train([a]);
    t.save(b, false);
  } else if (mode === 'encode') {
    const t = tk.Tokenizer.fromFile(a);
    const texts = JSON.parse(fs.readFileSync(b, 'utf8'));
    const out = [];
    for (const text of texts) {
      const e = await t.encode(text, null, { addSpecialTokens: false });
      const ids = e.getIds();
      out.push({ ids, offsets: e.getOffsets(), decoded: await t.decode(ids, false) });
    }
    fs.writeFileSync(c, JSON.stringify(out));
  } else {
    throw new Error('usage: hf_bpe.js train|encode ...');
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
