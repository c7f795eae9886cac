//! The model manifest (`models/models.toml`) and the registry of loaded models, which
//! the admin endpoints change at run time (hot-swap: a model loads beside the old one
//! and replaces it when ready; requests in flight finish on the one they started on).

use crate::backend::fake::{FakeChat, FakeEmbed};
use crate::backend::gguf::GgufChat;
use crate::backend::{ChatBackend, EmbedBackend, ModelInfo};
use crate::config::{BackendMode, Settings};
use crate::embeddings::BertEmbedder;
use crate::scheduler::SchedulerConfig;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Candle,
    Fake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Chat,
    Embedding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Llama,
    Bert,
}

/// `backend` when neither the manifest nor a load request gives one.
pub fn default_backend() -> BackendKind {
    BackendKind::Candle
}

/// `context_length` when neither the manifest nor a load request gives one.
pub fn default_context() -> usize {
    4096
}

/// One `[[models]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    #[serde(default = "default_backend")]
    pub backend: BackendKind,
    pub task: Task,
    pub family: Family,
    /// Relative to the models directory.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default = "default_context")]
    pub context_length: usize,
    #[serde(default)]
    pub autoload: bool,
    /// Embedding size of a fake embedding model (real ones read it from config.json).
    #[serde(default)]
    pub dimensions: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub models: Vec<ModelSpec>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let m: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut seen = HashSet::new();
        for s in &m.models {
            if !seen.insert(&s.name) {
                bail!("{}: model `{}` is listed twice", path.display(), s.name);
            }
        }
        Ok(m)
    }

    pub fn get(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// A loaded model.
#[derive(Clone)]
pub enum Loaded {
    Chat(Arc<dyn ChatBackend>),
    Embed(Arc<dyn EmbedBackend>),
}

impl Loaded {
    pub fn info(&self) -> &ModelInfo {
        match self {
            Loaded::Chat(c) => c.info(),
            Loaded::Embed(e) => e.info(),
        }
    }

    pub fn task(&self) -> Task {
        match self {
            Loaded::Chat(_) => Task::Chat,
            Loaded::Embed(_) => Task::Embedding,
        }
    }
}

pub struct Registry {
    models_dir: PathBuf,
    manifest_path: PathBuf,
    mode: BackendMode,
    verify_sha256: bool,
    max_context_length: usize,
    max_loaded_models: usize,
    sched: SchedulerConfig,
    loaded: RwLock<HashMap<String, Loaded>>,
    /// Models being loaded. A name stays here until it is in `loaded` (or its load
    /// failed), so a model always counts against LLM_MAX_LOADED_MODELS in one of them.
    loading: Mutex<HashSet<String>>,
}

/// Who chose the file a spec names, which decides whether it may be read without a
/// sha256 to check it against (with LLM_VERIFY_SHA256 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    /// The manifest's author: a file without a sha256 there is loaded unchecked, as it
    /// always was (the operator chose not to pin it).
    Manifest,
    /// A load request (a model outside the manifest, or a `file` override): the file
    /// is only read when a sha256 pins it, so whoever holds the admin token can't have
    /// arbitrary bytes in the models directory parsed as weights.
    Request,
}

/// Removes a name from `loading` however its load ends (error or panic included), so
/// a failed load never keeps a slot of LLM_MAX_LOADED_MODELS.
struct LoadingSlot<'a> {
    loading: &'a Mutex<HashSet<String>>,
    name: &'a str,
}

impl Drop for LoadingSlot<'_> {
    fn drop(&mut self) {
        let mut l = match self.loading.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        l.remove(self.name);
    }
}

/// Resolves `file` inside the models directory; absolute paths and `..` are refused so
/// the admin API can't be pointed at arbitrary files.
pub fn resolve_file(models_dir: &Path, file: &str) -> Result<PathBuf> {
    let rel = Path::new(file);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!("model file `{file}` must be a plain path inside the models directory");
    }
    Ok(models_dir.join(rel))
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Checks `path` against `expected`, trusting the marker scripts/models.sh writes
/// (`<file>.sha256-ok`: hash, size, mtime) so an unchanged file isn't hashed again.
fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{} is missing (run scripts/models.sh)", path.display()))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("{expected} {} {mtime_ns}", meta.len());
    let mut stamp = path.as_os_str().to_owned();
    stamp.push(".sha256-ok");
    let stamp = PathBuf::from(stamp);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == key) {
        return Ok(());
    }
    let actual = sha256_file(path)?;
    if !actual.eq_ignore_ascii_case(expected) {
        bail!(
            "sha256 mismatch: {} has {actual}, expected {expected}",
            path.display()
        );
    }
    // Best effort: a read-only models directory just means hashing again next time.
    let _ = std::fs::write(&stamp, key);
    Ok(())
}

impl Registry {
    pub fn new(settings: &Settings) -> Self {
        Self {
            models_dir: settings.models_dir.clone(),
            manifest_path: settings.manifest_path(),
            mode: settings.backend,
            verify_sha256: settings.verify_sha256,
            max_context_length: settings.max_context_length,
            max_loaded_models: settings.max_loaded_models,
            sched: SchedulerConfig {
                max_batch: settings.max_batch,
                queue_capacity: settings.queue_capacity,
                prefill_chunk: settings.prefill_chunk,
                threads: settings.compute_threads(),
            },
            loaded: RwLock::new(HashMap::new()),
            loading: Mutex::new(HashSet::new()),
        }
    }

    /// The manifest as it is on disk now (operators may edit it while we run).
    pub fn manifest(&self) -> Result<Manifest> {
        if !self.manifest_path.exists() {
            return Ok(Manifest::default());
        }
        Manifest::read(&self.manifest_path)
    }

    pub fn get(&self, name: &str) -> Option<Loaded> {
        self.loaded.read().ok()?.get(name).cloned()
    }

    pub fn chat(&self, name: &str) -> Option<Arc<dyn ChatBackend>> {
        match self.get(name)? {
            Loaded::Chat(c) => Some(c),
            Loaded::Embed(_) => None,
        }
    }

    pub fn embed(&self, name: &str) -> Option<Arc<dyn EmbedBackend>> {
        match self.get(name)? {
            Loaded::Embed(e) => Some(e),
            Loaded::Chat(_) => None,
        }
    }

    /// Loaded models, sorted by name.
    pub fn list(&self) -> Vec<Loaded> {
        let map = match self.loaded.read() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let sorted: BTreeMap<&String, &Loaded> = map.iter().collect();
        sorted.into_values().cloned().collect()
    }

    /// Names of models being loaded now.
    pub fn loading(&self) -> Vec<String> {
        match self.loading.lock() {
            Ok(l) => l.iter().cloned().collect(),
            Err(p) => p.into_inner().iter().cloned().collect(),
        }
    }

    /// LLM_MAX_LOADED_MODELS.
    pub fn max_loaded_models(&self) -> usize {
        self.max_loaded_models
    }

    /// Checks a context length against LLM_MAX_CONTEXT_LENGTH (and that it is at
    /// least 1: a model that can't hold one token can't answer anything).
    pub fn check_context_length(&self, n: usize) -> Result<(), String> {
        if n == 0 || n > self.max_context_length {
            return Err(format!(
                "context_length {n} is outside 1..={} (LLM_MAX_CONTEXT_LENGTH)",
                self.max_context_length
            ));
        }
        Ok(())
    }

    /// Loads (or reloads) a model of the manifest and swaps it in. Blocking.
    pub fn load(&self, spec: &ModelSpec) -> Result<ModelInfo> {
        self.load_from(spec, FileSource::Manifest)
    }

    /// Loads (or reloads) a model and swaps it in, `source` saying who chose its file.
    /// Blocking. Refused when LLM_MAX_LOADED_MODELS models are loaded or loading and
    /// this is a new one; a reload of a loaded model takes no new slot.
    pub fn load_from(&self, spec: &ModelSpec, source: FileSource) -> Result<ModelInfo> {
        self.check_context_length(spec.context_length)
            .map_err(|e| anyhow::anyhow!("model `{}`: {e}", spec.name))?;
        let _slot = {
            let mut loading = self
                .loading
                .lock()
                .map_err(|_| anyhow::anyhow!("registry poisoned"))?;
            if loading.contains(&spec.name) {
                bail!(AlreadyLoading(spec.name.clone()));
            }
            // Counted under the `loading` lock (taken before `loaded` here, and never
            // the other way round), so concurrent loads can't all see a free slot.
            let loaded = self
                .loaded
                .read()
                .map_err(|_| anyhow::anyhow!("registry poisoned"))?;
            if !loaded.contains_key(&spec.name) {
                let in_use =
                    loaded.len() + loading.iter().filter(|n| !loaded.contains_key(*n)).count();
                if in_use >= self.max_loaded_models {
                    bail!(TooManyModels {
                        model: spec.name.clone(),
                        max: self.max_loaded_models,
                    });
                }
            }
            loading.insert(spec.name.clone());
            LoadingSlot {
                loading: &self.loading,
                name: &spec.name,
            }
        };
        let loaded = self.build(spec, source)?;
        let info = loaded.info().clone();
        let mut map = self
            .loaded
            .write()
            .map_err(|_| anyhow::anyhow!("registry poisoned"))?;
        // The previous model (if any) is dropped when its last in-flight request ends.
        // Inserted before `_slot` leaves `loading`, so the model is never in neither.
        map.insert(spec.name.clone(), loaded);
        drop(map);
        tracing::info!(model = %spec.name, backend = info.backend, "model ready");
        Ok(info)
    }

    fn build(&self, spec: &ModelSpec, source: FileSource) -> Result<Loaded> {
        let backend = if self.mode == BackendMode::Fake {
            BackendKind::Fake
        } else {
            spec.backend
        };
        if backend == BackendKind::Fake {
            return Ok(match spec.task {
                Task::Chat => {
                    Loaded::Chat(Arc::new(FakeChat::new(&spec.name, spec.context_length)))
                }
                Task::Embedding => Loaded::Embed(Arc::new(FakeEmbed::new(
                    &spec.name,
                    spec.dimensions.unwrap_or(384),
                    spec.context_length,
                ))),
            });
        }
        // Before any file is looked at: a spec that can't work reads nothing.
        match (spec.task, spec.family) {
            (Task::Chat, Family::Llama) | (Task::Embedding, Family::Bert) => {}
            (task, family) => bail!("a {family:?} model can't serve the {task:?} task"),
        }
        let file = spec
            .file
            .as_deref()
            .with_context(|| format!("model `{}` has no `file`", spec.name))?;
        let path = resolve_file(&self.models_dir, file)?;
        if !path.is_file() {
            bail!("{} is missing (run scripts/models.sh)", path.display());
        }
        if self.verify_sha256 {
            match (&spec.sha256, source) {
                (Some(expected), _) => verify_sha256(&path, expected)?,
                (None, FileSource::Request) => bail!(
                    "model `{}`: `{file}` was named by the request and no sha256 pins it; \
                     give `sha256` (for a model outside the manifest) or list the model \
                     in the manifest with one (LLM_VERIFY_SHA256 is on)",
                    spec.name
                ),
                (None, FileSource::Manifest) => {}
            }
        }
        Ok(match (spec.task, spec.family) {
            (Task::Chat, Family::Llama) => Loaded::Chat(Arc::new(GgufChat::load(
                &spec.name,
                &path,
                spec.context_length,
                self.sched,
            )?)),
            (Task::Embedding, Family::Bert) => Loaded::Embed(Arc::new(BertEmbedder::load(
                &spec.name,
                &path,
                spec.context_length,
                self.sched.queue_capacity,
            )?)),
            (task, family) => bail!("a {family:?} model can't serve the {task:?} task"),
        })
    }

    /// Registers a backend built elsewhere (a program embedding the sidecar, or a test
    /// double), replacing any model of that name.
    pub fn insert(&self, name: &str, model: Loaded) {
        if let Ok(mut m) = self.loaded.write() {
            m.insert(name.to_string(), model);
        }
    }

    /// Removes a model; false if it wasn't loaded.
    pub fn unload(&self, name: &str) -> bool {
        match self.loaded.write() {
            Ok(mut m) => m.remove(name).is_some(),
            Err(_) => false,
        }
    }
}

/// A load of a model that is already being loaded.
#[derive(Debug)]
pub struct AlreadyLoading(pub String);

impl std::fmt::Display for AlreadyLoading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "model `{}` is already being loaded", self.0)
    }
}

impl std::error::Error for AlreadyLoading {}

/// A load of a new model while LLM_MAX_LOADED_MODELS are loaded or loading.
#[derive(Debug)]
pub struct TooManyModels {
    pub model: String,
    pub max: usize,
}

impl std::fmt::Display for TooManyModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "can't load `{}`: {} models are loaded or loading, the most \
             LLM_MAX_LOADED_MODELS allows; unload one first",
            self.model, self.max
        )
    }
}

impl std::error::Error for TooManyModels {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_manifest_parses() {
        let path = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../models/models.toml");
        let m = Manifest::read(&path).unwrap();
        let chat = m.get("smollm2-135m-instruct").unwrap();
        assert_eq!(
            (chat.task, chat.family, chat.backend),
            (Task::Chat, Family::Llama, BackendKind::Candle)
        );
        assert_eq!(chat.sha256.as_deref().map(str::len), Some(64));
        let emb = m.get("all-minilm-l6-v2").unwrap();
        assert_eq!((emb.task, emb.family), (Task::Embedding, Family::Bert));
    }

    #[test]
    fn files_stay_inside_the_models_dir() {
        let dir = Path::new("/m");
        assert_eq!(
            resolve_file(dir, "a/b.gguf").unwrap(),
            Path::new("/m/a/b.gguf")
        );
        for bad in ["/etc/passwd", "../x.gguf", "a/../../x", "./x"] {
            assert!(resolve_file(dir, bad).is_err(), "{bad}");
        }
    }

    fn registry(dir: &Path, args: &[&str]) -> Registry {
        use clap::Parser;
        let dir = dir.to_str().unwrap();
        let base = [
            "llm-sidecar",
            "--skip-service-auth=true",
            "--models-dir",
            dir,
        ];
        Registry::new(&Settings::parse_from(base.iter().chain(args)))
    }

    fn fake_spec(name: &str) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            backend: BackendKind::Fake,
            task: Task::Chat,
            family: Family::Llama,
            file: None,
            sha256: None,
            context_length: 512,
            autoload: false,
            dimensions: None,
        }
    }

    #[test]
    fn concurrent_loads_stay_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry(dir.path(), &["--max-loaded-models", "3"]);
        let barrier = std::sync::Barrier::new(12);
        let results: Vec<Result<ModelInfo>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12)
                .map(|i| {
                    let (reg, barrier) = (&reg, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        reg.load(&fake_spec(&format!("m{i}")))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 3);
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(e.downcast_ref::<TooManyModels>().is_some(), "{e:#}");
        }
        assert_eq!(reg.list().len(), 3);
        assert!(reg.loading().is_empty());
        // A reload of a loaded model takes no new slot; a new one still has none.
        let loaded = reg.list()[0].info().name.clone();
        reg.load(&fake_spec(&loaded)).unwrap();
        assert!(reg.load(&fake_spec("another")).is_err());
        // A failed load gives its slot back.
        assert!(reg.unload(&loaded));
        let mut bad = fake_spec("bad");
        bad.backend = BackendKind::Candle;
        assert!(reg.load(&bad).is_err());
        assert!(reg.loading().is_empty());
        reg.load(&fake_spec("another")).unwrap();
    }

    #[test]
    fn context_length_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry(dir.path(), &["--max-context-length", "1024"]);
        let mut s = fake_spec("m");
        s.context_length = 1025;
        let e = reg.load(&s).unwrap_err().to_string();
        assert!(e.contains("LLM_MAX_CONTEXT_LENGTH"), "{e}");
        s.context_length = 0;
        assert!(reg.load(&s).is_err());
        s.context_length = 1024;
        assert_eq!(reg.load(&s).unwrap().context_length, 1024);
    }

    #[test]
    fn a_file_the_request_named_needs_a_sha256() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.gguf"), b"not weights").unwrap();
        let reg = registry(dir.path(), &[]);
        let mut s = fake_spec("m");
        s.backend = BackendKind::Candle;
        s.file = Some("w.gguf".into());
        let e = format!("{:#}", reg.load_from(&s, FileSource::Request).unwrap_err());
        assert!(e.contains("no sha256 pins it"), "{e}");
        s.sha256 = Some("0".repeat(64));
        let e = format!("{:#}", reg.load_from(&s, FileSource::Request).unwrap_err());
        assert!(e.contains("sha256 mismatch"), "{e}");
        // With LLM_VERIFY_SHA256 off, the file is read (and here fails as weights).
        let reg = registry(dir.path(), &["--verify-sha256", "false"]);
        s.sha256 = None;
        let e = format!("{:#}", reg.load_from(&s, FileSource::Request).unwrap_err());
        // (Not "no `sha256` in the text": candle errors carry a backtrace under
        // RUST_BACKTRACE, which names this test.)
        assert!(e.contains("reading GGUF"), "{e}");
    }

    #[test]
    fn sha256_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.bin");
        std::fs::write(&f, b"abc").unwrap();
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(verify_sha256(&f, &"0".repeat(64)).is_err());
        verify_sha256(&f, good).unwrap();
        // The marker now short-cuts the check; a changed file invalidates it.
        std::fs::write(&f, b"abcd").unwrap();
        assert!(verify_sha256(&f, good).is_err());
    }
}
