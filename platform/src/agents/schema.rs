//! JSON Schema builders for the agents' answers and a checker for the subset they use.
//!
//! The subset (what OpenAI-style strict mode and llguidance both accept): `type` (a name
//! or `[name, "null"]`), `properties`, `required`, `additionalProperties: false`,
//! `items`, `enum`, `minLength`, `maxLength`, `minItems`, `maxItems`, `minimum`,
//! `maximum`. Every object lists all its properties as required (strict mode demands
//! it); an optional field is a nullable type instead.
//!
//! [`check`] validates a value against such a schema. Violations come in two kinds:
//! [`ViolationKind::Shape`] (wrong type, missing field, value outside an enum) means the
//! answer can't be used and is sent back for repair; [`ViolationKind::Bound`] (too
//! long, too many, out of range, an extra field) is repaired by the agent itself by
//! trimming, so a nearly-right answer from a backend without constrained decoding
//! isn't thrown away.

use serde_json::{json, Map, Value};

use super::text::json_type_name;

/// The schema keywords [`check`] understands; [`unsupported_keywords`] flags others.
pub const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "description",
];

/// An object schema whose properties are all required and nothing else is allowed.
pub fn object(properties: Vec<(&str, Value)>) -> Value {
    let required: Vec<Value> = properties.iter().map(|(k, _)| json!(k)).collect();
    let props: Map<String, Value> = properties
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// A string of `min..=max` characters.
pub fn string(min: usize, max: usize) -> Value {
    json!({ "type": "string", "minLength": min, "maxLength": max })
}

/// A string of `min..=max` characters, or null.
pub fn nullable_string(min: usize, max: usize) -> Value {
    json!({ "type": ["string", "null"], "minLength": min, "maxLength": max })
}

/// One of the given strings.
pub fn string_enum<S: AsRef<str>>(values: &[S]) -> Value {
    let values: Vec<Value> = values.iter().map(|v| json!(v.as_ref())).collect();
    json!({ "type": "string", "enum": values })
}

/// One of the given strings, or null.
pub fn nullable_enum<S: AsRef<str>>(values: &[S]) -> Value {
    let mut all: Vec<Value> = values.iter().map(|v| json!(v.as_ref())).collect();
    all.push(Value::Null);
    json!({ "type": ["string", "null"], "enum": all })
}

/// An array of `min..=max` items.
pub fn array(items: Value, min: usize, max: usize) -> Value {
    json!({ "type": "array", "items": items, "minItems": min, "maxItems": max })
}

/// A number in `min..=max`.
pub fn number(min: f64, max: f64) -> Value {
    json!({ "type": "number", "minimum": min, "maximum": max })
}

/// How serious a schema violation is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// The answer has the wrong structure; it needs a repair round.
    Shape,
    /// The answer is structurally right but exceeds a bound; the agent trims it.
    Bound,
}

/// One way a value fails a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending value (`$.sections[0].heading`).
    pub path: String,
    /// What is wrong, phrased for the model.
    pub message: String,
    /// Whether it needs a repair round.
    pub kind: ViolationKind,
}

/// Every violation of `schema` by `value` (empty when it conforms).
pub fn check(value: &Value, schema: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check_at(value, schema, "$", &mut out);
    out
}

/// `Err` with a message listing the structural violations (at most eight), for the
/// repair request; bound violations are ignored here, and so are enum violations of the
/// fields named in `grounded` (entry ids: the agent drops unknown ones itself, so an
/// invented id costs that citation, not the whole answer).
pub fn require_shape(value: &Value, schema: &Value, grounded: &[&str]) -> Result<(), String> {
    let shape: Vec<Violation> = check(value, schema)
        .into_iter()
        .filter(|v| v.kind == ViolationKind::Shape)
        .filter(|v| {
            !(v.message.contains(" is not one of [") && grounded.contains(&field_of(&v.path)))
        })
        .collect();
    if shape.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = shape
        .iter()
        .take(8)
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect();
    if shape.len() > 8 {
        lines.push(format!("…and {} more", shape.len() - 8));
    }
    Err(format!(
        "the JSON doesn't match the required schema: {}",
        lines.join("; ")
    ))
}

/// The property a path ends in, ignoring array indexes (`$.a[0].b[2]` → `b`).
fn field_of(path: &str) -> &str {
    let mut p = path;
    while let Some(stripped) = p.strip_suffix(']') {
        match stripped.rfind('[') {
            Some(i) => p = &stripped[..i],
            None => break,
        }
    }
    p.rsplit('.').next().unwrap_or(p)
}

/// Keywords used in `schema` (recursively) that [`check`] doesn't understand.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_unsupported(schema, "$", &mut out);
    out
}

fn collect_unsupported(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    for (k, v) in obj {
        if !KEYWORDS.contains(&k.as_str()) {
            out.push(format!("{path}: {k}"));
        }
        if k == "additionalProperties" && v != &Value::Bool(false) {
            out.push(format!("{path}: additionalProperties must be false"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            collect_unsupported(sub, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = obj.get("items") {
        collect_unsupported(items, &format!("{path}[]"), out);
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_matches(value: &Value, wanted: &str) -> bool {
    match wanted {
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => json_type_name(value) == other,
    }
}

fn push(out: &mut Vec<Violation>, path: &str, kind: ViolationKind, message: String) {
    out.push(Violation {
        path: path.to_string(),
        message,
        kind,
    });
}

fn check_at(value: &Value, schema: &Value, path: &str, out: &mut Vec<Violation>) {
    let types = types_of(schema);
    if !types.is_empty() && !types.iter().any(|t| type_matches(value, t)) {
        push(
            out,
            path,
            ViolationKind::Shape,
            format!(
                "expected {}, got {}",
                types.join(" or "),
                json_type_name(value)
            ),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let shown: Vec<String> = allowed.iter().take(12).map(Value::to_string).collect();
            let more = if allowed.len() > 12 { ", …" } else { "" };
            push(
                out,
                path,
                ViolationKind::Shape,
                format!("{value} is not one of [{}{more}]", shown.join(", ")),
            );
        }
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count();
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if (len as u64) < min {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("shorter than {min} characters"),
                    );
                }
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if len as u64 > max {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("longer than {max} characters"),
                    );
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if x < min {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("{x} is below {min}"),
                    );
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if x > max {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("{x} is above {max}"),
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < min {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("fewer than {min} items"),
                    );
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > max {
                    push(
                        out,
                        path,
                        ViolationKind::Bound,
                        format!("more than {max} items"),
                    );
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_at(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(obj) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(name) {
                        push(
                            out,
                            path,
                            ViolationKind::Shape,
                            format!("missing required field \"{name}\""),
                        );
                    }
                }
            }
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => check_at(v, sub, &format!("{path}.{k}"), out),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        push(
                            out,
                            path,
                            ViolationKind::Bound,
                            format!("unexpected field \"{k}\""),
                        )
                    }
                    None => {}
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        object(vec![
            ("name", string(1, 5)),
            ("level", nullable_enum(&["low", "high"])),
            ("score", number(0.0, 1.0)),
            ("tags", array(string(1, 10), 0, 2)),
        ])
    }

    #[test]
    fn builders_make_strict_objects() {
        let s = sample();
        assert_eq!(s["required"], json!(["name", "level", "score", "tags"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert!(unsupported_keywords(&s).is_empty());
        assert_eq!(
            unsupported_keywords(&json!({"type": "string", "pattern": "x"})),
            vec!["$: pattern"]
        );
    }

    #[test]
    fn conforming_values_pass() {
        let v = json!({"name": "abc", "level": null, "score": 0.5, "tags": ["x"]});
        assert!(check(&v, &sample()).is_empty());
        let v = json!({"name": "abc", "level": "high", "score": 1, "tags": []});
        assert!(check(&v, &sample()).is_empty());
    }

    #[test]
    fn shape_violations_are_reported_with_paths() {
        let v = json!({"name": 3, "level": "medium", "tags": "x"});
        let errs = check(&v, &sample());
        let shape: Vec<&Violation> = errs
            .iter()
            .filter(|e| e.kind == ViolationKind::Shape)
            .collect();
        assert_eq!(shape.len(), 4, "{errs:?}");
        let msg = require_shape(&v, &sample(), &[]).unwrap_err();
        assert!(
            msg.contains("$.name: expected string, got integer"),
            "{msg}"
        );
        assert!(msg.contains("missing required field \"score\""), "{msg}");
        assert!(msg.contains("\"medium\" is not one of"), "{msg}");
        assert!(msg.contains("$.tags: expected array, got string"), "{msg}");
    }

    #[test]
    fn bound_violations_are_not_shape_errors() {
        let v = json!({"name": "toolong", "level": null, "score": 2.0, "tags": ["a", "b", "c"], "extra": 1});
        let errs = check(&v, &sample());
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs.iter().all(|e| e.kind == ViolationKind::Bound));
        assert!(require_shape(&v, &sample(), &[]).is_ok());
    }

    #[test]
    fn grounded_fields_tolerate_unknown_enum_values() {
        let s = object(vec![
            ("ids", array(string_enum(&["a"]), 0, 5)),
            ("entry_id", string_enum(&["a"])),
            ("level", string_enum(&["low"])),
        ]);
        let v = json!({"ids": ["a", "zz"], "entry_id": "zz", "level": "zz"});
        let err = require_shape(&v, &s, &["ids", "entry_id"]).unwrap_err();
        assert!(err.contains("$.level"), "{err}");
        assert!(
            !err.contains("$.ids") && !err.contains("$.entry_id"),
            "{err}"
        );
        assert_eq!(field_of("$.a[0].b[2]"), "b");
        assert_eq!(field_of("$.a"), "a");
    }

    #[test]
    fn nested_item_paths() {
        let s = array(object(vec![("id", string_enum(&["a", "b"]))]), 0, 5);
        let errs = check(&json!([{"id": "a"}, {"id": "z"}]), &s);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "$[1].id");
    }
}
