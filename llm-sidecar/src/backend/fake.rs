//! The fake backend: instant, deterministic answers for the platform's tests. The same
//! prompt always gets the same text; `json_object`/`json_schema` get a JSON value that
//! satisfies the schema; embeddings are unit vectors derived from the input's hash.
//! "Tokens" are whitespace-separated words.

use super::{
    ChatBackend, EmbedBackend, FinishReason, GenError, GenEvent, GenHandle, GenRequest, ModelInfo,
    Prompt, ResponseFormat, Usage,
};
use crate::text::TextStream;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub struct FakeChat {
    info: ModelInfo,
}

pub struct FakeEmbed {
    info: ModelInfo,
    dims: usize,
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

impl FakeChat {
    pub fn new(name: &str, context_length: usize) -> Self {
        Self {
            info: ModelInfo {
                name: name.to_string(),
                backend: "fake",
                context_length,
                created: super::unix_now(),
            },
        }
    }
}

/// A value that satisfies `schema` (the subset agents use: types, properties,
/// required, enum/const, items with minItems, anyOf/oneOf/allOf, local `$ref`s).
pub fn instance_for_schema(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else {
        return json!({});
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#")
            .and_then(|p| root.pointer(p))
            .unwrap_or(&Value::Null);
        return instance_for_schema(target, root, depth + 1);
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(e) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return e.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = obj
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return instance_for_schema(first, root, depth + 1);
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "object",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), instance_for_schema(v, root, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = obj
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .min(16) as usize;
            let item = obj
                .get("items")
                .cloned()
                .unwrap_or_else(|| json!({"type": "string"}));
            Value::Array(
                (0..n)
                    .map(|_| instance_for_schema(&item, root, depth + 1))
                    .collect(),
            )
        }
        "string" => {
            let s = match obj.get("format").and_then(Value::as_str) {
                Some("date") => "2024-01-01".to_string(),
                Some("date-time") => "2024-01-01T00:00:00Z".to_string(),
                Some("email") => "fake@example.com".to_string(),
                Some("uri") => "https://example.com/".to_string(),
                _ => "fake".to_string(),
            };
            let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = obj
                .get("maxLength")
                .and_then(Value::as_u64)
                .map_or(usize::MAX, |m| m as usize);
            let mut s = s;
            while s.chars().count() < min {
                s.push('x');
            }
            Value::String(s.chars().take(max).collect())
        }
        "integer" | "number" => {
            let lo = obj.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let lo = obj
                .get("exclusiveMinimum")
                .and_then(Value::as_f64)
                .map_or(lo, |x| x.floor() + 1.0);
            if ty == "integer" {
                json!(lo.ceil() as i64)
            } else {
                json!(lo)
            }
        }
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

impl ChatBackend for FakeChat {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn healthy(&self) -> bool {
        true
    }

    fn submit(&self, req: GenRequest) -> Result<GenHandle, GenError> {
        let prompt_text = match &req.prompt {
            Prompt::Chat(m) => m
                .iter()
                .map(|m| format!("{}: {}", m.role, m.content))
                .collect::<Vec<_>>()
                .join("\n"),
            Prompt::Text(t) => t.clone(),
            Prompt::Tokens(t) => t.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
        };
        let prompt_tokens = words(&prompt_text).max(1);
        if prompt_tokens >= self.info.context_length {
            return Err(GenError::BadRequest(format!(
                "the prompt is {prompt_tokens} tokens; this model's context is {} tokens",
                self.info.context_length
            )));
        }
        let reply = match &req.params.response_format {
            ResponseFormat::Text => {
                let d = digest(&[&self.info.name, &prompt_text]);
                format!(
                    "This is a deterministic reply from the fake backend to a prompt of {prompt_tokens} words (digest {}).",
                    hex::encode(&d[..4])
                )
            }
            ResponseFormat::JsonObject => json!({"reply": "fake"}).to_string(),
            ResponseFormat::JsonSchema(s) => instance_for_schema(s, s, 0).to_string(),
        };

        let (tx, rx) = mpsc::unbounded_channel();
        let mut text = TextStream::new(req.params.stop.clone());
        let mut produced = 0;
        let mut finish = FinishReason::Stop;
        // Word by word, so streams have several chunks and max_tokens cuts on words.
        for (i, w) in reply.split_inclusive(' ').enumerate() {
            if i >= req.params.max_tokens {
                finish = FinishReason::Length;
                break;
            }
            produced += 1;
            let delta = text.push(w.as_bytes());
            if !delta.is_empty() {
                let _ = tx.send(GenEvent::Delta(delta));
            }
            if text.stopped() {
                break;
            }
        }
        let rest = text.finish();
        if !rest.is_empty() {
            let _ = tx.send(GenEvent::Delta(rest));
        }
        let _ = tx.send(GenEvent::Done {
            finish,
            usage: Usage {
                prompt_tokens,
                completion_tokens: produced,
            },
        });
        Ok(GenHandle {
            prompt_tokens,
            events: rx,
        })
    }
}

impl FakeEmbed {
    pub fn new(name: &str, dims: usize, context_length: usize) -> Self {
        Self {
            info: ModelInfo {
                name: name.to_string(),
                backend: "fake",
                context_length,
                created: super::unix_now(),
            },
            dims,
        }
    }
}

impl EmbedBackend for FakeEmbed {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn dimensions(&self) -> usize {
        self.dims
    }

    fn embed(&self, inputs: &[String]) -> Result<(Vec<Vec<f32>>, usize), GenError> {
        let mut tokens = 0;
        let out = inputs
            .iter()
            .map(|s| {
                tokens += words(s).max(1);
                // Expand the hash into `dims` values in [-1, 1), then normalise.
                let mut v = Vec::with_capacity(self.dims);
                let mut block = 0u32;
                while v.len() < self.dims {
                    let d = digest(&[s, &block.to_string()]);
                    v.extend(d.iter().map(|&b| f32::from(b) / 128.0 - 1.0));
                    block += 1;
                }
                v.truncate(self.dims);
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect();
        Ok((out, tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_instances_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 6},
                "level": {"type": "integer", "minimum": 3},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 2},
                "kind": {"enum": ["a", "b"]}
            },
            "$defs": {"tag": {"type": "string", "maxLength": 2}}
        });
        let v = instance_for_schema(&schema, &schema, 0);
        assert_eq!(
            v,
            json!({"name": "fakexx", "level": 3, "tags": ["fa", "fa"], "kind": "a"})
        );
    }
}
