//! Tests across agents: schemas, budgets, repair conversations, and properties of the
//! offline answers on generated inputs.

use chrono::NaiveDate;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::agent::{estimate_prompt_tokens, schema_name, Agent, Role, CONTEXT_TOKENS};
use super::analysis::WorklogAnalysis;
use super::entries::testing::{fixture, many_long};
use super::entries::Entry;
use super::report::{ReportGenerate, ReportInput, ReportKind};
use super::resume::{Profile, ResumeInput, ResumeRefresh};
use super::schema::{check, unsupported_keywords};
use super::skills::{SkillsExtract, SkillsInput};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn skills_input(entries: Vec<Entry>) -> SkillsInput {
    SkillsInput {
        entries,
        known_skills: vec!["PostgreSQL".into()],
    }
}

fn report_input(entries: Vec<Entry>, kind: ReportKind) -> ReportInput {
    ReportInput {
        kind,
        from: d("2000-01-01"),
        to: d("2100-01-01"),
        audience: None,
        instructions: None,
        entries,
    }
}

fn resume_input(entries: Vec<Entry>) -> ResumeInput {
    ResumeInput {
        profile: Profile {
            name: "Priya Raman".into(),
            email: "priya@example.com".into(),
            label: Some("Backend engineer".into()),
            summary: None,
            location: None,
        },
        workspace_name: "Ledgerly".into(),
        entries,
        confirmed_skills: Vec::new(),
        manual: None,
    }
}

/// Every object node of a schema lists exactly its properties as required, forbids
/// others, and only supported keywords appear.
fn assert_strict_schema(schema: &Value, path: &str) {
    assert!(
        unsupported_keywords(schema).is_empty(),
        "{path}: {:?}",
        unsupported_keywords(schema)
    );
    if schema["type"] == "object" {
        let props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut props_sorted: Vec<&str> = props.iter().map(|s| s.as_str()).collect();
        required.sort();
        props_sorted.sort();
        assert_eq!(
            required, props_sorted,
            "{path}: required must list every property"
        );
        assert_eq!(schema["additionalProperties"], Value::Bool(false), "{path}");
        for (k, sub) in schema["properties"].as_object().unwrap() {
            assert_strict_schema(sub, &format!("{path}.{k}"));
        }
    }
    if let Some(items) = schema.get("items") {
        assert_strict_schema(items, &format!("{path}[]"));
    }
}

/// The offline answer is deterministic, valid against the schema (both directions:
/// no missing and no extra fields), and the prompt fits the context with max_tokens.
fn assert_agent_contract<A: Agent>(agent: &A, input: &A::Input)
where
    A::Output: Serialize + PartialEq + std::fmt::Debug,
{
    let schema = agent.schema(input);
    assert_strict_schema(&schema, A::NAME);
    let out = agent.offline(input);
    assert_eq!(
        out,
        agent.offline(input),
        "{}: offline is deterministic",
        A::NAME
    );
    let value = serde_json::to_value(&out).unwrap();
    let problems = check(&value, &schema);
    assert!(problems.is_empty(), "{}: {problems:?}", A::NAME);
    // The offline answer, sent as if a model wrote it, parses back to itself.
    let reparsed = agent.parse(&value.to_string(), input);
    match reparsed {
        Ok(again) => assert_eq!(again, out, "{}: parse(offline) round-trips", A::NAME),
        Err(e) => panic!("{}: offline answer rejected by parse: {e}", A::NAME),
    }
    let messages = agent.messages(input);
    assert_eq!(messages[0].role, Role::System);
    assert_eq!(messages.last().unwrap().role, Role::User);
    let tokens = estimate_prompt_tokens(&messages);
    assert!(
        tokens <= agent.budget().prompt_tokens,
        "{}: {tokens}",
        A::NAME
    );
    assert!(
        tokens + agent.max_tokens(input) as usize <= agent.budget().context_tokens,
        "{}",
        A::NAME
    );
    assert!(
        agent.budget().slack() >= 0,
        "{}: budget exceeds the context",
        A::NAME
    );
    let rf = agent.response_format(input);
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(rf["json_schema"]["name"], schema_name(A::NAME));
    assert_eq!(A::PROMPT_VERSION, "v1");
}

#[test]
fn every_agent_honours_the_contract_on_the_fixture() {
    let analysis = WorklogAnalysis::default();
    for e in fixture() {
        assert_agent_contract(&analysis, &e);
    }
    assert_agent_contract(&SkillsExtract::default(), &skills_input(fixture()));
    for kind in [
        ReportKind::Standup,
        ReportKind::Status,
        ReportKind::Weekly,
        ReportKind::Custom,
    ] {
        assert_agent_contract(&ReportGenerate::default(), &report_input(fixture(), kind));
    }
    assert_agent_contract(&ResumeRefresh::default(), &resume_input(fixture()));
}

#[test]
fn every_agent_honours_the_contract_with_500_long_entries() {
    let many = many_long(500);
    assert_agent_contract(&WorklogAnalysis::default(), &many[0]);
    assert_agent_contract(&SkillsExtract::default(), &skills_input(many.clone()));
    assert_agent_contract(
        &ReportGenerate::default(),
        &report_input(many.clone(), ReportKind::Status),
    );
    assert_agent_contract(&ResumeRefresh::default(), &resume_input(many));
}

#[test]
fn agent_names_are_the_job_kinds() {
    assert_eq!(WorklogAnalysis::NAME, "worklog.analyze");
    assert_eq!(SkillsExtract::NAME, "skills.extract");
    assert_eq!(ReportGenerate::NAME, "report.generate");
    assert_eq!(ResumeRefresh::NAME, "resume.refresh");
}

#[test]
fn repair_conversation_keeps_the_failed_answer_only_when_it_fits() {
    let agent = SkillsExtract::default();
    let input = skills_input(fixture());
    let error = "quote \"x\" is not in entry wl_08";
    let short = agent.repair_messages(&input, "{\"skills\": 1}", error);
    assert_eq!(short.len(), 4);
    assert_eq!(short[2].role, Role::Assistant);
    assert_eq!(short[2].content, "{\"skills\": 1}");
    assert!(short[3].content.contains(error));
    assert!(short[3]
        .content
        .contains("copy quotes character for character"));
    // A long failed answer would leave no room for a new one: it is left out.
    let long = "x".repeat(20_000);
    let msgs = agent.repair_messages(&input, &long, error);
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m.role != Role::Assistant));
    assert!(estimate_prompt_tokens(&msgs) + agent.max_tokens(&input) as usize <= CONTEXT_TOKENS);
    // The error itself is bounded.
    let huge_error = "e".repeat(10_000);
    assert!(agent.repair_message(&huge_error).content.chars().count() < 2_000);
}

#[test]
fn empty_inputs_need_no_model() {
    assert!(SkillsExtract::default()
        .without_model(&skills_input(Vec::new()))
        .is_some_and(|o| o.skills.is_empty()));
    assert!(ReportGenerate::default()
        .without_model(&report_input(Vec::new(), ReportKind::Weekly))
        .is_some());
    assert!(ResumeRefresh::default()
        .without_model(&resume_input(Vec::new()))
        .is_some());
    assert!(WorklogAnalysis::default()
        .without_model(&fixture()[0])
        .is_none());
}

fn arb_text() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "Tuned",
        "PostgreSQL",
        "Kafka",
        "Go",
        "go",
        "R&D",
        "C++",
        "rust",
        "Rust",
        "blocked",
        "waiting",
        "on",
        "next",
        "week",
        "from",
        "420",
        "ms",
        "to",
        "90",
        "cut",
        "by",
        "30%",
        "the",
        "a",
        "k8s",
        "Terraform",
        "mentored",
        "*bold*",
        "`code`",
        "-",
        "#",
        "\n",
        "\n\n- ",
        ".",
        "!",
        "?",
        "é",
        "日本",
        "<entry",
        "</entry>",
        "\"",
        "interviewed",
        "candidate",
    ]);
    prop::collection::vec(words, 0..60).prop_map(|w| w.join(" "))
}

prop_compose! {
    fn arb_entry()(
        id in "[a-z]{1,3}_[0-9]{1,3}",
        day in 0u64..60,
        title in arb_text(),
        content in arb_text(),
        outcome in prop::option::of(arb_text()),
        project in prop::option::of("[A-Z][a-z]{2,8}"),
        tags in prop::collection::vec("[a-z]{2,8}", 0..4),
    ) -> Entry {
        Entry {
            id,
            date: d("2025-01-01") + chrono::Days::new(day),
            title,
            content,
            outcome,
            tags,
            project,
            attachments: 0,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn offline_answers_are_valid_and_grounded_for_any_entries(
        entries in prop::collection::vec(arb_entry(), 0..12),
    ) {
        // Record ids are unique in the platform; with duplicates "which entry" is moot.
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<Entry> = entries.into_iter().filter(|e| seen.insert(e.id.clone())).collect();
        let skills = SkillsExtract::default();
        let sin = skills_input(entries.clone());
        let out = skills.offline(&sin);
        let v = serde_json::to_value(&out).unwrap();
        prop_assert!(check(&v, &skills.schema(&sin)).is_empty(), "{:?}", check(&v, &skills.schema(&sin)));
        for f in &out.skills {
            prop_assert!(!f.evidence.is_empty());
            for ev in &f.evidence {
                let e = entries.iter().find(|e| e.id == ev.entry_id);
                prop_assert!(e.is_some());
                prop_assert!(e.unwrap().texts().iter().any(|t| t.contains(ev.quote.as_str())));
            }
        }

        for kind in [ReportKind::Standup, ReportKind::Status, ReportKind::Weekly, ReportKind::Custom] {
            let report = ReportGenerate::default();
            let mut rin = report_input(entries.clone(), kind);
            rin.from = d("2025-01-10");
            rin.to = d("2025-02-10");
            let out = report.offline(&rin);
            let v = serde_json::to_value(&out).unwrap();
            prop_assert!(check(&v, &report.schema(&rin)).is_empty(), "{:?}", check(&v, &report.schema(&rin)));
            for b in out.sections.iter().flat_map(|s| &s.bullets) {
                prop_assert!(!b.citations.is_empty());
                for id in &b.citations {
                    let e = entries.iter().find(|e| &e.id == id);
                    prop_assert!(e.is_some_and(|e| e.date >= rin.from && e.date <= rin.to));
                }
            }
        }

        let resume = ResumeRefresh::default();
        let rin = resume_input(entries.clone());
        let out = resume.offline(&rin);
        let v = serde_json::to_value(&out).unwrap();
        prop_assert!(check(&v, &resume.schema(&rin)).is_empty());

        let analysis = WorklogAnalysis::default();
        for e in &entries {
            let out = analysis.offline(e);
            let v = serde_json::to_value(&out).unwrap();
            prop_assert!(check(&v, &analysis.schema(e)).is_empty(), "{:?}", check(&v, &analysis.schema(e)));
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_answers(raw in "\\PC{0,300}", entries in prop::collection::vec(arb_entry(), 1..5)) {
        let _ = SkillsExtract::default().parse(&raw, &skills_input(entries.clone()));
        let _ = ReportGenerate::default().parse(&raw, &report_input(entries.clone(), ReportKind::Custom));
        let _ = ResumeRefresh::default().parse(&raw, &resume_input(entries.clone()));
        let _ = WorklogAnalysis::default().parse(&raw, &entries[0]);
    }

    #[test]
    fn parsed_answers_always_satisfy_the_schema(
        entries in prop::collection::vec(arb_entry(), 1..6),
        picks in prop::collection::vec((0usize..6, 0usize..200, 1usize..60), 0..10),
        names in prop::collection::vec("[A-Za-z ]{0,70}", 0..10),
    ) {
        // Build answers that cite real and fake ids with real and fake quotes.
        let skills = SkillsExtract::default();
        let sin = skills_input(entries.clone());
        let findings: Vec<Value> = names.iter().enumerate().map(|(i, name)| {
            let evidence: Vec<Value> = picks.iter().map(|(e, start, len)| {
                let entry = &entries[*e % entries.len()];
                let text: String = entry.content.chars().skip(*start).take(*len).collect();
                let id = if (i + e) % 3 == 0 { "fake".to_string() } else { entry.id.clone() };
                serde_json::json!({"entry_id": id, "quote": text})
            }).collect();
            serde_json::json!({"name": name, "category": "other", "level": null, "confidence": 0.5, "evidence": evidence})
        }).collect();
        let raw = serde_json::json!({"skills": findings}).to_string();
        if let Ok(out) = skills.parse(&raw, &sin) {
            let v = serde_json::to_value(&out).unwrap();
            prop_assert!(check(&v, &skills.schema(&sin)).is_empty(), "{:?}", check(&v, &skills.schema(&sin)));
        }

        let report = ReportGenerate::default();
        let rin = report_input(entries.clone(), ReportKind::Custom);
        let bullets: Vec<Value> = picks.iter().map(|(e, start, _)| {
            let entry = &entries[*e % entries.len()];
            let cite = if start % 2 == 0 { entry.id.clone() } else { "fake".into() };
            serde_json::json!({"text": entry.title, "citations": [cite]})
        }).collect();
        let raw = serde_json::json!({"title": "", "sections": [{"heading": names.first().cloned().unwrap_or_default(), "bullets": bullets}]}).to_string();
        if let Ok(out) = report.parse(&raw, &rin) {
            let v = serde_json::to_value(&out).unwrap();
            prop_assert!(check(&v, &report.schema(&rin)).is_empty(), "{:?}", check(&v, &report.schema(&rin)));
        }
    }
}

#[test]
fn report_kinds_round_trip_their_names() {
    for k in [
        ReportKind::Status,
        ReportKind::Standup,
        ReportKind::Weekly,
        ReportKind::Custom,
    ] {
        assert_eq!(ReportKind::parse(k.as_str()), Some(k));
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
    assert_eq!(ReportKind::parse("poem"), None);
    assert_eq!(ReportKind::parse("Status"), None);
}
