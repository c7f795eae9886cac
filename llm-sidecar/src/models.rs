//! The model manifest (`models/models.toml`) and the registry of loaded models, which
//! the admin endpoints change at run time (hot-swap: a model loads beside the old one
//! and replaces it when ready; requests in flight finish on the one they started on).

use crate::backend::candle::CandleChat;
use crate::backend::fake::{FakeChat, FakeEmbed};
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

fn default_backend() -> BackendKind {
    BackendKind::Candle
}

fn default_context() -> usize {
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
    sched: SchedulerConfig,
    loaded: RwLock<HashMap<String, Loaded>>,
    loading: Mutex<HashSet<String>>,
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
            "{}: sha256 is {actual}, the manifest says {expected}",
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

    /// Loads (or reloads) a model and swaps it in. Blocking.
    pub fn load(&self, spec: &ModelSpec) -> Result<ModelInfo> {
        {
            let mut loading = self
                .loading
                .lock()
                .map_err(|_| anyhow::anyhow!("registry poisoned"))?;
            if !loading.insert(spec.name.clone()) {
                bail!(AlreadyLoading(spec.name.clone()));
            }
        }
        let result = self.build(spec);
        if let Ok(mut loading) = self.loading.lock() {
            loading.remove(&spec.name);
        }
        let loaded = result?;
        let info = loaded.info().clone();
        let mut map = self
            .loaded
            .write()
            .map_err(|_| anyhow::anyhow!("registry poisoned"))?;
        // The previous model (if any) is dropped when its last in-flight request ends.
        map.insert(spec.name.clone(), loaded);
        tracing::info!(model = %spec.name, backend = info.backend, "model ready");
        Ok(info)
    }

    fn build(&self, spec: &ModelSpec) -> Result<Loaded> {
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
        let file = spec
            .file
            .as_deref()
            .with_context(|| format!("model `{}` has no `file`", spec.name))?;
        let path = resolve_file(&self.models_dir, file)?;
        if !path.is_file() {
            bail!("{} is missing (run scripts/models.sh)", path.display());
        }
        if self.verify_sha256 {
            if let Some(expected) = &spec.sha256 {
                verify_sha256(&path, expected)?;
            }
        }
        Ok(match (spec.task, spec.family) {
            (Task::Chat, Family::Llama) => Loaded::Chat(Arc::new(CandleChat::load(
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
