//! Structured output by constrained decoding with llguidance (as mistral.rs and
//! llama.cpp do): `response_format` becomes a grammar, and at every step only tokens
//! that keep the output inside it may be sampled. Even a 135M model then returns JSON
//! that parses and matches the schema.

use crate::backend::ResponseFormat;
use anyhow::Result;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::{json, Value};
use toktrie::TokEnv;

/// Compiles grammars for one tokenizer (the factory caches per-vocabulary work).
pub struct GrammarCompiler {
    factory: ParserFactory,
}

/// The JSON options we compile with. Compact separators and no free whitespace: a small
/// model given the freedom tends to emit whitespace until it runs out of tokens.
/// `lenient` ignores schema keywords llguidance can't enforce instead of failing.
fn guidance_options() -> Value {
    json!({
        "whitespace_flexible": false,
        "item_separator": ", ",
        "key_separator": ": ",
        "lenient": true,
    })
}

/// The schema a `response_format` stands for (`None` for plain text).
pub fn schema_for(format: &ResponseFormat) -> Option<Value> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(json!({"type": "object"})),
        ResponseFormat::JsonSchema(s) => Some(s.clone()),
    }
}

impl GrammarCompiler {
    pub fn new(tok_env: &TokEnv) -> Result<Self> {
        let mut factory = ParserFactory::new_simple(tok_env)?;
        // Grammar errors come back as results; don't also print them to stderr.
        factory.quiet();
        Ok(Self { factory })
    }

    /// A matcher for `format`, or `None` for plain text. Errors describe a schema the
    /// client sent that can't be compiled (a 400).
    pub fn matcher(&self, format: &ResponseFormat) -> Result<Option<Matcher>, String> {
        let Some(mut schema) = schema_for(format) else {
            return Ok(None);
        };
        let Some(obj) = schema.as_object_mut() else {
            return Err("the JSON schema must be an object".into());
        };
        obj.insert("x-guidance".into(), guidance_options());
        let grammar = TopLevelGrammar::from_json_schema(schema);
        // llguidance reports bad grammars as errors; a panic inside it must not take the
        // engine down with it either.
        let parser = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.factory.create_parser(grammar)
        }))
        .map_err(|_| "the JSON schema could not be compiled".to_string())?
        .map_err(|e| format!("invalid JSON schema: {e}"))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(format!("invalid JSON schema: {e}"));
        }
        Ok(Some(matcher))
    }
}
