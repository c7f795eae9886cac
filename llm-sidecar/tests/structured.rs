//! Structured output with the real 135M model: constrained decoding makes every
//! answer parse as JSON and validate against its schema. Needs `scripts/models.sh`.

mod common;

use common::{require_models, Opts, Sidecar, CHAT_MODEL};
use serde_json::{json, Value};

/// 20 prompts with varied schemas: nesting, arrays, enums, numbers with ranges,
/// booleans, nullable and optional fields, anyOf, $defs/$ref, const, patterns.
fn cases() -> Vec<(&'static str, Value)> {
    let s = |max: u64| json!({"type": "string", "maxLength": max});
    vec![
        (
            "Give me a person named Alice who is 30 years old.",
            json!({
            "type": "object", "properties": {"name": s(20), "age": {"type": "integer", "minimum": 0, "maximum": 120}},
            "required": ["name", "age"], "additionalProperties": false}),
        ),
        (
            "List three fruits.",
            json!({
            "type": "object", "properties": {"fruits": {"type": "array", "items": s(15), "minItems": 3, "maxItems": 3}},
            "required": ["fruits"], "additionalProperties": false}),
        ),
        (
            "Is the sky blue? Answer yes or no with a reason.",
            json!({
            "type": "object", "properties": {"answer": {"type": "boolean"}, "reason": s(60)},
            "required": ["answer", "reason"], "additionalProperties": false}),
        ),
        (
            "Classify the sentiment of: 'I love this product!'",
            json!({
            "type": "object", "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
            "required": ["sentiment", "confidence"], "additionalProperties": false}),
        ),
        (
            "Extract the skills from: 'I wrote Rust services and tuned PostgreSQL queries.'",
            json!({
            "type": "object", "properties": {"skills": {"type": "array", "maxItems": 4, "items": {
                "type": "object", "properties": {"name": s(25), "level": {"enum": ["beginner", "intermediate", "expert"]}},
                "required": ["name", "level"], "additionalProperties": false}}},
            "required": ["skills"], "additionalProperties": false}),
        ),
        (
            "Describe a book.",
            json!({
            "type": "object", "properties": {"title": s(40), "author": s(30), "year": {"type": "integer", "minimum": 1450, "maximum": 2030}, "isbn": {"type": ["string", "null"], "maxLength": 17}},
            "required": ["title", "author", "year", "isbn"], "additionalProperties": false}),
        ),
        (
            "Write a standup update.",
            json!({
            "type": "object", "properties": {"yesterday": s(80), "today": s(80), "blockers": {"type": "array", "items": s(40), "maxItems": 2}},
            "required": ["yesterday", "today", "blockers"], "additionalProperties": false}),
        ),
        (
            "Give the coordinates of Paris.",
            json!({
            "type": "object", "properties": {"city": {"const": "Paris"}, "lat": {"type": "number", "minimum": -90, "maximum": 90}, "lon": {"type": "number", "minimum": -180, "maximum": 180}},
            "required": ["city", "lat", "lon"], "additionalProperties": false}),
        ),
        (
            "Create a to-do list for a weekend.",
            json!({
            "type": "array", "minItems": 2, "maxItems": 4, "items": {
                "type": "object", "properties": {"task": s(30), "done": {"type": "boolean"}},
                "required": ["task", "done"], "additionalProperties": false}}),
        ),
        (
            "What is 7 times 6?",
            json!({
            "type": "object", "properties": {"result": {"type": "integer", "minimum": -1000, "maximum": 1000}},
            "required": ["result"], "additionalProperties": false}),
        ),
        (
            "Suggest a username.",
            json!({
            "type": "object", "properties": {"username": {"type": "string", "pattern": "^[a-z][a-z0-9_]{2,11}$"}},
            "required": ["username"], "additionalProperties": false}),
        ),
        (
            "Summarise a meeting about the budget.",
            json!({
            "type": "object", "properties": {"summary": s(100), "decisions": {"type": "array", "items": s(50), "maxItems": 3}, "follow_up": {"type": "boolean"}},
            "required": ["summary", "decisions", "follow_up"], "additionalProperties": false}),
        ),
        (
            "Give me a colour in RGB.",
            json!({
            "type": "object", "properties": {"name": s(15), "rgb": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "minItems": 3, "maxItems": 3}},
            "required": ["name", "rgb"], "additionalProperties": false}),
        ),
        (
            "Describe an address in Berlin.",
            json!({
            "$defs": {"address": {"type": "object", "properties": {"street": s(30), "city": s(20), "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["street", "city", "zip"], "additionalProperties": false}},
            "type": "object", "properties": {"home": {"$ref": "#/$defs/address"}}, "required": ["home"], "additionalProperties": false}),
        ),
        (
            "Rate this movie from 1 to 5 stars.",
            json!({
            "type": "object", "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}, "comment": s(60)},
            "required": ["stars"], "additionalProperties": false}),
        ),
        (
            "Is this an email or a phone number: bob@example.com",
            json!({
            "type": "object", "properties": {"contact": {"anyOf": [
                {"type": "object", "properties": {"email": s(40)}, "required": ["email"], "additionalProperties": false},
                {"type": "object", "properties": {"phone": {"type": "string", "pattern": "^[0-9+ ]{5,15}$"}}, "required": ["phone"], "additionalProperties": false}]}},
            "required": ["contact"], "additionalProperties": false}),
        ),
        (
            "Report the weather.",
            json!({
            "type": "object", "properties": {"temperature_c": {"type": "number", "minimum": -60, "maximum": 60}, "condition": {"enum": ["sunny", "cloudy", "rainy", "snowy"]}, "wind_kmh": {"type": "integer", "minimum": 0, "maximum": 300}},
            "required": ["temperature_c", "condition", "wind_kmh"], "additionalProperties": false}),
        ),
        (
            "Write a work-log entry about fixing a bug.",
            json!({
            "type": "object", "properties": {"title": s(50), "content": s(120), "tags": {"type": "array", "items": s(15), "maxItems": 3}, "impact": {"type": ["string", "null"], "maxLength": 60}},
            "required": ["title", "content", "tags", "impact"], "additionalProperties": false}),
        ),
        (
            "Give two translations of 'hello'.",
            json!({
            "type": "object", "properties": {"translations": {"type": "object", "properties": {"fr": s(15), "de": s(15)}, "required": ["fr", "de"], "additionalProperties": false}},
            "required": ["translations"], "additionalProperties": false}),
        ),
        (
            "Output any JSON object about dogs.",
            json!({"type": "object", "properties": {"breed": s(20), "good_boy": {"type": "boolean"}}, "required": ["breed", "good_boy"]}),
        ),
    ]
}

#[tokio::test]
async fn json_schema_output_parses_and_validates_for_20_schemas() {
    require_models();
    let sc = Sidecar::start(Opts {
        env: vec![("LLM_LOAD_MODELS", CHAT_MODEL.into())],
        ..Default::default()
    })
    .await;
    let cases = cases();
    assert_eq!(cases.len(), 20);
    let bodies: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (prompt, schema))| {
            // Half greedy, half sampled: the constraint must hold either way.
            let temperature = if i % 2 == 0 { 0.0 } else { 0.8 };
            json!({
                "model": CHAT_MODEL,
                "messages": [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": prompt}],
                "temperature": temperature, "seed": i, "max_tokens": 400,
                "response_format": {"type": "json_schema", "json_schema": {"name": format!("case{i}"), "strict": true, "schema": schema}},
            })
        })
        .collect();
    // Concurrently: they share the batch.
    let answers = futures::future::join_all(
        bodies
            .iter()
            .map(|b| sc.post_json("/v1/chat/completions", b)),
    )
    .await;
    for (i, ((status, _, a), (_, schema))) in answers.iter().zip(&cases).enumerate() {
        assert_eq!(*status, 200, "case {i}: {a}");
        let text = a["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(
            a["choices"][0]["finish_reason"], "stop",
            "case {i} ran out of tokens: {text}"
        );
        let v: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("case {i}: not JSON ({e}): {text}"));
        let validator = jsonschema::validator_for(schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "case {i}: {text} violates its schema: {errors:?}"
        );
    }

    // json_object: any JSON object. (Without a schema nothing bounds string lengths, so
    // a small model can still ramble until max_tokens: these prompts ask for short ones.)
    for prompt in [
        "Describe a dog as a JSON object with the keys name and age.",
        "Give me a JSON object describing the city of Paris with keys name and country.",
    ] {
        let body = json!({
            "model": CHAT_MODEL, "temperature": 0, "max_tokens": 200,
            "messages": [{"role": "user", "content": prompt}],
            "response_format": {"type": "json_object"}});
        let (status, _, a) = sc.post_json("/v1/chat/completions", &body).await;
        assert_eq!(status, 200);
        let text = a["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(a["choices"][0]["finish_reason"], "stop", "{text}");
        let v: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert!(v.is_object(), "{text}");
    }

    // Streaming with a schema: the chunks concatenate to valid JSON too.
    let (_, schema) = &cases[0];
    let (status, _, events) = sc
        .stream("/v1/chat/completions", &json!({
            "model": CHAT_MODEL, "temperature": 0, "max_tokens": 200, "stream": true,
            "messages": [{"role": "user", "content": "Give me a person."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}}))
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&common::stream_text(&events)).unwrap();
    assert!(jsonschema::is_valid(schema, &v), "{v}");

    // A schema llguidance can't compile is the client's error.
    let (status, _, e) = sc
        .post_json("/v1/chat/completions", &json!({
            "model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "bad", "schema": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]}}}}))
        .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("schema"),
        "{e}"
    );
}
