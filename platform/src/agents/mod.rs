//! Agents: prompt building, answer schemas, parsing and grounding of model output, and
//! deterministic offline answers. No I/O: the workflows call the LLM client and persist.
//!
//! | agent | job kind | input → output |
//! |---|---|---|
//! | [`analysis::WorklogAnalysis`] | `worklog.analyze` | [`entries::Entry`] → [`analysis::Analysis`] |
//! | [`skills::SkillsExtract`] | `skills.extract` | [`skills::SkillsInput`] → [`skills::SkillsExtraction`] |
//! | [`report::ReportGenerate`] | `report.generate` | [`report::ReportInput`] → [`report::ReportDraft`] |
//! | [`resume::ResumeRefresh`] | `resume.refresh` | [`resume::ResumeInput`] → [`resume::ResumeDraft`] (→ [`resume::build_resume`]) |
//!
//! See [`agent`] for how a workflow drives an [`Agent`], [`entries`] for the prompt
//! budget rule, [`taxonomy`] for the bundled skills taxonomy and [`citations`] for the
//! citation rule.

pub mod agent;
pub mod analysis;
pub mod citations;
pub mod entries;
pub mod report;
pub mod report_edit;
pub mod resume;
pub mod schema;
pub mod skills;
pub mod taxonomy;
pub mod text;

#[cfg(test)]
mod tests;

pub use agent::{Agent, Budget, Message, Role};
pub use entries::Entry;
