//! OpenAI request types and their validation into backend-neutral parameters.
//! Unknown fields are ignored (clients send many); wrong types and out-of-range values
//! answer 400 naming the field.

use crate::backend::{GenParams, Prompt, ResponseFormat};
use crate::error::ApiError;
use llm_sidecar_kernels::sampling::SamplingParams;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Parses a JSON body; errors name the offending field (`param`).
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid(
                "invalid_json",
                format!("request body is not valid JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::invalid("invalid_request", format!("invalid request: {inner}"))
        } else {
            ApiError::invalid_param(&path, format!("invalid value for `{path}`: {inner}"))
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StopField {
    One(String),
    Many(Vec<String>),
}

/// Sampling and length fields shared by chat and completions, parsed from the same body
/// as the request (not `#[serde(flatten)]`ed into it, which would lose the field names
/// in error messages).
#[derive(Debug, Default, Deserialize)]
pub struct SamplingFields {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i64>,
    pub seed: Option<i64>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub stop: Option<StopField>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub repetition_penalty: Option<f32>,
    pub n: Option<u32>,
    pub logprobs: Option<Value>,
    pub response_format: Option<Value>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: Option<MessageContent>,
}

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Option<Value>,
    pub tool_choice: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PromptField {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenLists(Vec<Vec<u32>>),
}

#[derive(Debug, Deserialize)]
pub struct CompletionRequest {
    pub model: String,
    pub prompt: PromptField,
    #[serde(default)]
    pub echo: bool,
    pub suffix: Option<String>,
    pub best_of: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenLists(Vec<Vec<u32>>),
}

#[derive(Debug, Deserialize)]
pub struct EmbeddingRequest {
    pub model: String,
    pub input: EmbeddingInput,
    pub encoding_format: Option<String>,
    pub dimensions: Option<u32>,
}

/// A chat message after validation: role and plain-text content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

fn range(param: &str, v: Option<f32>, lo: f32, hi: f32) -> Result<(), ApiError> {
    match v {
        Some(x) if !(lo..=hi).contains(&x) || x.is_nan() => Err(ApiError::invalid_param(
            param,
            format!("`{param}` must be between {lo} and {hi}"),
        )),
        _ => Ok(()),
    }
}

/// Validates the shared fields into generation parameters.
pub fn gen_params(s: &SamplingFields, default_max_tokens: u32) -> Result<GenParams, ApiError> {
    range("temperature", s.temperature, 0.0, 2.0)?;
    range("presence_penalty", s.presence_penalty, -2.0, 2.0)?;
    range("frequency_penalty", s.frequency_penalty, -2.0, 2.0)?;
    range("repetition_penalty", s.repetition_penalty, 0.01, 10.0)?;
    if let Some(p) = s.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(ApiError::invalid_param(
                "top_p",
                "`top_p` must be in (0, 1]",
            ));
        }
    }
    if let Some(n) = s.n {
        if n != 1 {
            return Err(ApiError::invalid_param("n", "only `n: 1` is supported"));
        }
    }
    match &s.logprobs {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(_) => {
            return Err(ApiError::invalid_param(
                "logprobs",
                "`logprobs` is not supported",
            ));
        }
    }
    let top_k = match s.top_k {
        None | Some(-1) | Some(0) => 0,
        Some(k) if k > 0 => usize::try_from(k).unwrap_or(usize::MAX),
        Some(_) => {
            return Err(ApiError::invalid_param(
                "top_k",
                "`top_k` must be -1, 0 or positive",
            ))
        }
    };
    let max_tokens = s
        .max_completion_tokens
        .or(s.max_tokens)
        .unwrap_or(default_max_tokens);
    if max_tokens == 0 {
        return Err(ApiError::invalid_param(
            "max_tokens",
            "`max_tokens` must be at least 1",
        ));
    }
    let stop = match &s.stop {
        None => Vec::new(),
        Some(StopField::One(x)) => vec![x.clone()],
        Some(StopField::Many(v)) => v.clone(),
    };
    if stop.len() > 4 || stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid_param(
            "stop",
            "`stop` takes up to 4 non-empty strings",
        ));
    }
    let response_format = match &s.response_format {
        None | Some(Value::Null) => ResponseFormat::Text,
        Some(v) => parse_response_format(v)?,
    };
    Ok(GenParams {
        max_tokens: max_tokens as usize,
        sampling: SamplingParams {
            temperature: s.temperature.unwrap_or(1.0),
            top_p: s.top_p.unwrap_or(1.0),
            top_k,
            presence_penalty: s.presence_penalty.unwrap_or(0.0),
            frequency_penalty: s.frequency_penalty.unwrap_or(0.0),
            repetition_penalty: s.repetition_penalty.unwrap_or(1.0),
        },
        // A negative seed is still a seed: reinterpret the bits.
        seed: s.seed.map(|x| x as u64),
        stop,
        response_format,
    })
}

fn parse_response_format(v: &Value) -> Result<ResponseFormat, ApiError> {
    let bad = |m: &str| ApiError::invalid_param("response_format", m.to_string());
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`response_format.type` is required"))?;
    match kind {
        "text" => Ok(ResponseFormat::Text),
        "json_object" => Ok(ResponseFormat::JsonObject),
        "json_schema" => {
            let js = v
                .get("json_schema")
                .ok_or_else(|| bad("`response_format.json_schema` is required"))?;
            let schema = js
                .get("schema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            if !schema.is_object() {
                return Err(bad(
                    "`response_format.json_schema.schema` must be a JSON object",
                ));
            }
            Ok(ResponseFormat::JsonSchema(schema))
        }
        other => Err(bad(&format!(
            "unsupported response_format type `{other}` (text, json_object, json_schema)"
        ))),
    }
}

/// Validates chat messages into plain-text ones.
pub fn chat_messages(req: &ChatRequest) -> Result<Vec<Message>, ApiError> {
    if req.messages.is_empty() {
        return Err(ApiError::invalid_param(
            "messages",
            "`messages` must not be empty",
        ));
    }
    if req.tools.as_ref().is_some_and(|t| !t.is_null()) {
        return Err(ApiError::invalid_param(
            "tools",
            "tool calls are not supported",
        ));
    }
    if let Some(tc) = &req.tool_choice {
        if !(tc.is_null() || tc == "none") {
            return Err(ApiError::invalid_param(
                "tool_choice",
                "tool calls are not supported",
            ));
        }
    }
    req.messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.role.as_str() {
                "system" | "user" | "assistant" | "tool" => m.role.clone(),
                // OpenAI's newer name for system messages.
                "developer" => "system".to_string(),
                other => {
                    return Err(ApiError::invalid_param(
                        &format!("messages[{i}].role"),
                        format!("unknown role `{other}`"),
                    ))
                }
            };
            let content = match &m.content {
                None => String::new(),
                Some(MessageContent::Text(t)) => t.clone(),
                Some(MessageContent::Parts(parts)) => {
                    let mut out = String::new();
                    for p in parts {
                        match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => out.push_str(t),
                            _ => {
                                return Err(ApiError::invalid_param(
                                    &format!("messages[{i}].content"),
                                    "only text content parts are supported",
                                ))
                            }
                        }
                    }
                    out
                }
            };
            Ok(Message { role, content })
        })
        .collect()
}

/// Validates a completions prompt (one prompt: `n` > 1 batches aren't supported).
pub fn completion_prompt(req: &CompletionRequest) -> Result<Prompt, ApiError> {
    if req.echo {
        return Err(ApiError::invalid_param("echo", "`echo` is not supported"));
    }
    if req.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::invalid_param(
            "suffix",
            "`suffix` is not supported",
        ));
    }
    if req.best_of.is_some_and(|b| b != 1) {
        return Err(ApiError::invalid_param(
            "best_of",
            "only `best_of: 1` is supported",
        ));
    }
    let one = || ApiError::invalid_param("prompt", "exactly one prompt is supported per request");
    match &req.prompt {
        PromptField::Text(t) => Ok(Prompt::Text(t.clone())),
        PromptField::Texts(v) if v.len() == 1 => Ok(Prompt::Text(v[0].clone())),
        PromptField::Tokens(t) if !t.is_empty() => Ok(Prompt::Tokens(t.clone())),
        PromptField::TokenLists(v) if v.len() == 1 && !v[0].is_empty() => {
            Ok(Prompt::Tokens(v[0].clone()))
        }
        _ => Err(one()),
    }
}

/// Validates embedding inputs into texts.
pub fn embedding_inputs(req: &EmbeddingRequest) -> Result<Vec<String>, ApiError> {
    let texts = match &req.input {
        EmbeddingInput::Text(t) => vec![t.clone()],
        EmbeddingInput::Texts(v) => v.clone(),
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenLists(_) => {
            return Err(ApiError::invalid_param(
                "input",
                "token-id input is not supported; send strings",
            ))
        }
    };
    if texts.is_empty() {
        return Err(ApiError::invalid_param(
            "input",
            "`input` must not be empty",
        ));
    }
    if texts.len() > 2048 {
        return Err(ApiError::invalid_param(
            "input",
            "at most 2048 inputs per request",
        ));
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_name_the_field() {
        let e = parse_body::<SamplingFields>(br#"{"model":"m","messages":[],"temperature":"hot"}"#)
            .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.param.as_deref(), Some("temperature"));
        let e = parse_body::<ChatRequest>(b"{not json").unwrap_err();
        assert_eq!(e.code, "invalid_json");
    }

    #[test]
    fn ranges_and_unsupported_options() {
        let s = SamplingFields {
            temperature: Some(3.0),
            ..Default::default()
        };
        assert_eq!(
            gen_params(&s, 16).unwrap_err().param.as_deref(),
            Some("temperature")
        );
        let s = SamplingFields {
            n: Some(2),
            ..Default::default()
        };
        assert_eq!(gen_params(&s, 16).unwrap_err().param.as_deref(), Some("n"));
        let s = SamplingFields {
            response_format: Some(
                serde_json::json!({"type": "json_schema", "json_schema": {"schema": true}}),
            ),
            ..Default::default()
        };
        assert!(gen_params(&s, 16).is_err());
        let s = SamplingFields {
            seed: Some(-1),
            top_k: Some(-1),
            max_completion_tokens: Some(5),
            ..Default::default()
        };
        let p = gen_params(&s, 16).unwrap();
        assert_eq!(
            (p.seed, p.sampling.top_k, p.max_tokens),
            (Some(u64::MAX), 0, 5)
        );
    }
}
