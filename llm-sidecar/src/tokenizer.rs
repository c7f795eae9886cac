//! The tokenizer of a GGUF model, built from its metadata (`tokenizer.ggml.*`) with the
//! `tokenizers` crate: byte-level BPE over the GGUF vocabulary and merges, the
//! pre-tokenizer its `tokenizer.ggml.pre` names, special tokens from the token types.
//! Also the byte table detokenization uses and the token trie llguidance needs.

use anyhow::{bail, Context, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use std::collections::HashMap;
use std::sync::Arc;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::Tokenizer;
use toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};

/// GGUF `tokenizer.ggml.token_type` values.
const TOKEN_TYPE_CONTROL: u32 = 3;
const TOKEN_TYPE_USER_DEFINED: u32 = 4;

/// Special tokens that end a turn in common chat formats, besides the GGUF's EOS.
const END_OF_TURN: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "</s>",
];

pub struct GgufTokenizer {
    hf: Tokenizer,
    /// What each token contributes to the output; empty for control tokens.
    token_bytes: Vec<Vec<u8>>,
    stop_ids: Vec<u32>,
    bos: Option<u32>,
    add_bos: bool,
    bos_text: String,
    eos_text: String,
    chat_template: Option<String>,
    tok_env: TokEnv,
}

/// GPT-2's byte <-> printable-char mapping, reversed: char -> byte.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut next = 256u32;
    for b in 0..=255u8 {
        if printable(b) {
            map.insert(char::from(b), b);
        } else {
            if let Some(c) = char::from_u32(next) {
                map.insert(c, b);
            }
            next += 1;
        }
    }
    map
}

fn md<'a>(ct: &'a Content, key: &str) -> Option<&'a Value> {
    ct.metadata.get(key)
}

fn md_u32(ct: &Content, key: &str) -> Option<u32> {
    md(ct, key).and_then(|v| v.to_u32().ok())
}

impl GgufTokenizer {
    /// Builds the tokenizer; `n_vocab` is the model's output size (may exceed the list).
    pub fn from_gguf(ct: &Content, n_vocab: usize) -> Result<Self> {
        let model = md(ct, "tokenizer.ggml.model")
            .and_then(|v| v.to_string().ok())
            .context("GGUF has no tokenizer.ggml.model")?;
        if model != "gpt2" {
            bail!("tokenizer model `{model}` is not supported (byte-level BPE `gpt2` only)");
        }
        // candle builds the BPE model, merges and special tokens from the metadata...
        let mut hf = Tokenizer::from_gguf(ct).map_err(|e| anyhow::anyhow!("{e}"))?;
        // ...but maps pre-tokenizers it doesn't know (SmolLM's `smollm`) to GPT-2's
        // default, which prepends a space. llama.cpp's `smollm` is GPT-2's regex after
        // splitting digits one by one, without a prefix space.
        let pre = md(ct, "tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .map_or("gpt2", String::as_str);
        match pre {
            "smollm" => {
                hf.with_pre_tokenizer(Some(Sequence::new(vec![
                    Digits::new(true).into(),
                    ByteLevel::new(false, true, true).into(),
                ])));
                hf.with_decoder(Some(ByteLevel::new(false, true, true)));
            }
            "gpt2" | "default" => {
                hf.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
                hf.with_decoder(Some(ByteLevel::new(false, true, true)));
            }
            // qwen2, llama3, smaug-bpe: candle's pipelines match llama.cpp's.
            _ => {}
        }

        let tokens: Vec<String> = md(ct, "tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .context("GGUF has no tokenizer.ggml.tokens")?
            .iter()
            .map(|v| v.to_string().cloned().unwrap_or_default())
            .collect();
        let types: Vec<u32> = md(ct, "tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|v| {
                v.iter()
                    .map(|t| {
                        t.to_u32()
                            .or_else(|_| t.to_i32().map(|x| x as u32))
                            .unwrap_or(1)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if tokens.len() > n_vocab {
            bail!(
                "tokenizer has {} tokens, model only {n_vocab} outputs",
                tokens.len()
            );
        }

        let decoder = byte_decoder();
        let mut token_bytes = Vec::with_capacity(n_vocab);
        let mut trie_words = Vec::with_capacity(n_vocab);
        let mut specials = HashMap::new();
        for (id, tok) in tokens.iter().enumerate() {
            let ty = types.get(id).copied().unwrap_or(1);
            if ty == TOKEN_TYPE_CONTROL {
                specials.insert(tok.as_str(), id as u32);
                token_bytes.push(Vec::new());
                let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                w.extend_from_slice(tok.as_bytes());
                trie_words.push(w);
            } else if ty == TOKEN_TYPE_USER_DEFINED {
                token_bytes.push(tok.as_bytes().to_vec());
                trie_words.push(tok.as_bytes().to_vec());
            } else {
                // Byte-level tokens map every char back to one byte; a char outside
                // the table would be a broken vocabulary, kept as its UTF-8.
                let bytes: Vec<u8> = tok
                    .chars()
                    .flat_map(|c| match decoder.get(&c) {
                        Some(&b) => vec![b],
                        None => c.to_string().into_bytes(),
                    })
                    .collect();
                token_bytes.push(bytes.clone());
                trie_words.push(bytes);
            }
        }
        // Output slots without a token (padded vocabularies) are unreachable specials.
        for id in tokens.len()..n_vocab {
            token_bytes.push(Vec::new());
            let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
            w.extend_from_slice(format!("<[{id}]>").as_bytes());
            trie_words.push(w);
        }

        let eos = md_u32(ct, "tokenizer.ggml.eos_token_id").context("GGUF has no EOS token id")?;
        if eos as usize >= n_vocab {
            bail!("EOS token id {eos} outside the vocabulary");
        }
        let mut stop_ids = vec![eos];
        for name in END_OF_TURN {
            if let Some(&id) = specials.get(name) {
                if !stop_ids.contains(&id) {
                    stop_ids.push(id);
                }
            }
        }
        let bos = md_u32(ct, "tokenizer.ggml.bos_token_id").filter(|&b| (b as usize) < n_vocab);
        let add_bos = md(ct, "tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let text_of = |id: Option<u32>| {
            id.and_then(|i| tokens.get(i as usize))
                .cloned()
                .unwrap_or_default()
        };

        let mut info = TokRxInfo::new(n_vocab as u32, eos);
        info.tok_bos = bos;
        info.tok_end_of_turn = specials.get("<|im_end|>").copied();
        let trie = TokTrie::from(&info, &trie_words).with_eos_tokens(&stop_ids);
        let tok_env: TokEnv = Arc::new(TrieEnv {
            trie,
            hf: hf.clone(),
        });

        Ok(Self {
            hf,
            token_bytes,
            stop_ids,
            bos,
            add_bos,
            bos_text: text_of(bos),
            eos_text: text_of(Some(eos)),
            chat_template: md(ct, "tokenizer.chat_template")
                .and_then(|v| v.to_string().ok())
                .cloned(),
            tok_env,
        })
    }

    /// Token ids of `text`; special-token text (e.g. `<|im_start|>`) becomes the
    /// special token, as chat templates need. Adds BOS when the model asks for it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .hf
            .encode(text, false)
            .map_err(|e| anyhow::anyhow!("tokenization failed: {e}"))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.add_bos {
            if let Some(b) = self.bos {
                ids.push(b);
            }
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Output bytes of a token (empty for control tokens and unknown ids).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    pub fn is_stop(&self, id: u32) -> bool {
        self.stop_ids.contains(&id)
    }

    pub fn bos_text(&self) -> &str {
        &self.bos_text
    }

    pub fn eos_text(&self) -> &str {
        &self.eos_text
    }

    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// The tokenizer as llguidance sees it.
    pub fn tok_env(&self) -> TokEnv {
        self.tok_env.clone()
    }
}

/// llguidance's view: a byte trie of the vocabulary plus our tokenizer.
struct TrieEnv {
    trie: TokTrie,
    hf: Tokenizer,
}

impl TokenizerEnv for TrieEnv {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        self.trie.tokenize_with_greedy_fallback(s, |s| {
            // On a tokenizer error the trie's greedy tokenization (the fallback for
            // non-UTF-8 input too) is still a valid tokenization.
            match self.hf.encode(s, false) {
                Ok(e) => e.get_ids().to_vec(),
                Err(_) => self.trie.greedy_tokenize(s.as_bytes()),
            }
        })
    }
}
