//! The [`Agent`] trait every agent implements, chat messages, and token budgets.
//!
//! How a workflow drives an agent (the LLM client lives elsewhere):
//!
//! 1. `if let Some(out) = agent.without_model(&input)` → use it (nothing for a model to do).
//! 2. `LLM_PROVIDER=local` → `agent.offline(&input)`.
//! 3. Otherwise send `agent.messages(&input)` with `max_tokens = agent.max_tokens(&input)`
//!    and `response_format = agent.response_format(&input)`, then `agent.parse(raw, &input)`.
//! 4. On `Err(e)` send `agent.repair_messages(&input, raw, &e)` once and parse again; if
//!    that fails too, fail the step (the job's retry policy applies) or fall back to
//!    `offline` — the workflow's choice, recorded in its events.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::text::{estimate_tokens, fill, truncate};

/// The repair request template (shared by all agents).
const REPAIR_PROMPT: &str = include_str!("../../prompts/repair.v1.txt");

/// Context window the default budgets are sized for (SmolLM2 and most small models).
pub const CONTEXT_TOKENS: usize = 8_192;

/// Tokens the chat template adds per message (role markers, separators); an estimate.
pub const MESSAGE_OVERHEAD_TOKENS: usize = 8;

/// Longest error text quoted back to the model in a repair request, in characters.
pub const REPAIR_ERROR_MAX_CHARS: usize = 1_500;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The request.
    User,
    /// The model's answer.
    Assistant,
}

/// One chat message, serialised as the OpenAI chat API expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Estimated prompt tokens of a conversation (content plus per-message overhead).
pub fn estimate_prompt_tokens(messages: &[Message]) -> usize {
    messages
        .iter()
        .map(|m| estimate_tokens(&m.content) + MESSAGE_OVERHEAD_TOKENS)
        .sum()
}

/// Size limits of one agent call. `prompt_tokens + output_tokens` stays below
/// `context_tokens` with a margin for estimation error (tested per agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// The model's context window.
    pub context_tokens: usize,
    /// Most estimated tokens the messages may take.
    pub prompt_tokens: usize,
    /// Most entries shown in one prompt (newest first).
    pub max_entries: usize,
    /// Most characters of one entry's content shown (cut at a word, marked `…`).
    pub entry_chars: usize,
    /// Upper bound for `max_tokens` of the answer.
    pub output_tokens: u32,
}

impl Budget {
    /// Tokens left for the answer and the estimate's error once the prompt is full.
    pub fn slack(&self) -> i64 {
        self.context_tokens as i64 - self.prompt_tokens as i64 - i64::from(self.output_tokens)
    }
}

/// An LLM-backed agent: builds the prompt, describes the answer's JSON schema, parses and
/// grounds the answer, and answers deterministically without a model.
pub trait Agent {
    /// What the workflow hands in.
    type Input;
    /// What the agent hands back; serialises to exactly what [`Agent::schema`] describes.
    type Output: Serialize + DeserializeOwned;
    /// Job kind / agent name ("skills.extract"), recorded in events.
    const NAME: &'static str;
    /// Version of the prompt files, recorded in events ("v1").
    const PROMPT_VERSION: &'static str;

    /// The size limits this agent was configured with.
    fn budget(&self) -> &Budget;

    /// The chat messages for `input`, within [`Budget::prompt_tokens`].
    fn messages(&self, input: &Self::Input) -> Vec<Message>;

    /// JSON Schema of the answer. It depends on the input so that entry ids and section
    /// headings are enums: a constrained decoder then can't emit an id it wasn't shown.
    fn schema(&self, input: &Self::Input) -> Value;

    /// `max_tokens` for the completion.
    fn max_tokens(&self, input: &Self::Input) -> u32;

    /// Parses the model's answer and grounds it in the input; `Err` explains what to fix
    /// and is sent back once through [`Agent::repair_messages`].
    fn parse(&self, raw: &str, input: &Self::Input) -> Result<Self::Output, String>;

    /// The deterministic answer of the `local` provider: grounded in the input only.
    fn offline(&self, input: &Self::Input) -> Self::Output;

    /// An answer that needs no model (e.g. no entries to read); `None` = call the model.
    fn without_model(&self, _input: &Self::Input) -> Option<Self::Output> {
        None
    }

    /// The repair follow-up for a failed parse.
    fn repair_message(&self, error: &str) -> Message {
        Message::user(fill(
            REPAIR_PROMPT,
            &[("error", &truncate(error, REPAIR_ERROR_MAX_CHARS))],
        ))
    }

    /// The whole repair conversation: the original messages, the failed answer and the
    /// repair request. The failed answer is left out when keeping it would not leave
    /// room for a new answer of `max_tokens` in the context window.
    fn repair_messages(&self, input: &Self::Input, raw: &str, error: &str) -> Vec<Message> {
        let mut messages = self.messages(input);
        let repair = self.repair_message(error);
        let answer = Message::assistant(raw);
        let with_answer = estimate_prompt_tokens(&messages)
            + estimate_prompt_tokens(std::slice::from_ref(&answer))
            + estimate_prompt_tokens(std::slice::from_ref(&repair))
            + self.max_tokens(input) as usize;
        if with_answer <= self.budget().context_tokens {
            messages.push(answer);
        }
        messages.push(repair);
        messages
    }

    /// The `response_format` object for an OpenAI-compatible chat request.
    fn response_format(&self, input: &Self::Input) -> Value {
        json!({
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(Self::NAME),
                "schema": self.schema(input),
                "strict": true,
            }
        })
    }
}

/// `response_format` names allow only `[a-zA-Z0-9_-]`: "skills.extract" → "skills_extract".
pub fn schema_name(agent_name: &str) -> String {
    agent_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_serialise_like_the_chat_api() {
        let m = Message::system("hi");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"role": "system", "content": "hi"})
        );
        assert_eq!(Message::user("x").role, Role::User);
        assert_eq!(Message::assistant("x").role, Role::Assistant);
    }

    #[test]
    fn schema_names_are_api_safe() {
        assert_eq!(schema_name("skills.extract"), "skills_extract");
        assert_eq!(schema_name("a-b c"), "a-b_c");
    }

    #[test]
    fn prompt_estimate_counts_overhead() {
        let msgs = [Message::user("abcd"), Message::user("")];
        assert_eq!(
            estimate_prompt_tokens(&msgs),
            1 + 2 * MESSAGE_OVERHEAD_TOKENS
        );
    }
}
