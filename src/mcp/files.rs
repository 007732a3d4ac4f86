//! The allowed folders (SPEC §7 "Files"): a path given through MCP comes from a model, which
//! may be steered by text a partner wrote, so MCP tools read and write files only inside
//! - the roots the client announces (`roots/list`, `file://` URIs; asked again after
//!   `notifications/roots/list_changed`), and
//! - the folders in `PARTNERMAP_FILES` (separated by `:`);
//! - with neither, the user's Downloads folder.
//!
//! Paths are canonicalized (links and `..` resolved) before the check. The CLI does not use
//! this: its paths come from the person typing them.

use rmcp::{Peer, RoleServer};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The environment variable naming extra allowed folders.
pub const FILES_ENV: &str = "PARTNERMAP_FILES";

/// The tools that take a file path (they ask the client for its roots before running).
pub const FILE_TOOLS: &[&str] = &[
    "import_csv",
    "upload_partner_csv",
    "import_crm",
    "export_report",
];

/// Which folders the MCP file tools may use. Cheap to clone (shared state).
#[derive(Clone, Debug)]
pub struct AllowedFolders {
    /// From `PARTNERMAP_FILES` (as given; canonicalized on use).
    env: Vec<PathBuf>,
    /// Whether the client's roots count (stdio: yes; the remote server: no).
    client_roots: bool,
    /// Whether the Downloads folder is the fallback when no other folder is known.
    downloads_fallback: bool,
    roots: Arc<Mutex<Roots>>,
}

#[derive(Debug, Default)]
struct Roots {
    folders: Vec<PathBuf>,
    /// The list was read from the client and has not changed since.
    fresh: bool,
    /// Counts `roots/list_changed` notifications (one arriving during a read makes it stale).
    changes: u64,
}

impl AllowedFolders {
    /// For the stdio server: the client's roots, `PARTNERMAP_FILES`, else Downloads.
    pub fn from_env() -> Self {
        AllowedFolders {
            env: env_folders(),
            client_roots: true,
            downloads_fallback: true,
            roots: Arc::default(),
        }
    }

    /// Only the folders in `PARTNERMAP_FILES`: no client roots, no Downloads fallback (the
    /// remote server, where the client's folders are on another machine). With the variable
    /// unset, [`Self::enabled`] is false and every path is refused.
    pub fn env_only() -> Self {
        AllowedFolders {
            env: env_folders(),
            client_roots: false,
            downloads_fallback: false,
            roots: Arc::default(),
        }
    }

    /// Exactly these folders (tests, embedding).
    pub fn fixed(folders: Vec<PathBuf>) -> Self {
        AllowedFolders {
            env: folders,
            client_roots: false,
            downloads_fallback: false,
            roots: Arc::default(),
        }
    }

    /// Whether any folder may be used at all (file tools can be left out otherwise).
    pub fn enabled(&self) -> bool {
        self.client_roots || self.downloads_fallback || !self.env.is_empty()
    }

    /// The client said its roots changed: ask again before the next file tool runs.
    pub fn roots_changed(&self) {
        let mut r = self.lock();
        r.fresh = false;
        r.changes += 1;
    }

    /// Asks the client for its roots if it announced the capability and the list is not known
    /// (or has changed). A client that does not answer within a few seconds counts as none.
    #[allow(deprecated)] // roots: deprecated by SEP-2577, still what clients send today
    pub async fn refresh(&self, peer: &Peer<RoleServer>) {
        let changes = {
            let r = self.lock();
            if !self.client_roots || r.fresh {
                return;
            }
            r.changes
        };
        let supports = peer
            .peer_info()
            .is_some_and(|i| i.capabilities.roots.is_some());
        if !supports {
            return;
        }
        let folders = match tokio::time::timeout(Duration::from_secs(5), peer.list_roots()).await {
            Ok(Ok(r)) => r
                .roots
                .iter()
                .filter_map(|root| {
                    let url = url::Url::parse(&root.uri).ok()?;
                    (url.scheme() == "file")
                        .then(|| url.to_file_path().ok())
                        .flatten()
                })
                .collect(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the client did not list its roots");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!("the client did not answer roots/list in time");
                Vec::new()
            }
        };
        tracing::info!(roots = folders.len(), "client roots read");
        let mut r = self.lock();
        r.folders = folders;
        r.fresh = r.changes == changes;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Roots> {
        self.roots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The allowed folders as they are now, canonicalized (folders that do not exist are left
    /// out).
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self.lock().folders.clone();
        all.extend(self.env.iter().cloned());
        if all.is_empty()
            && self.downloads_fallback
            && let Some(d) = downloads()
        {
            all.push(d);
        }
        let mut out: Vec<PathBuf> = Vec::new();
        for f in all {
            if let Ok(c) = std::fs::canonicalize(&f)
                && c.is_dir()
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        out
    }

    /// Checks a path to read: absolute, existing, and (links resolved) inside an allowed
    /// folder. Returns the resolved path, or the sentence to show.
    pub fn check_read(&self, path: &str) -> Result<PathBuf, String> {
        let p = absolute(path)?;
        let real = std::fs::canonicalize(&p).map_err(|e| {
            format!(
                "Cannot open '{}': {}. Check the path.",
                p.display(),
                io_reason(&e)
            )
        })?;
        self.inside(&p, &real)?;
        Ok(real)
    }

    /// Checks a path to write a new file at: absolute, naming a file that does not exist yet
    /// in an existing folder that (links resolved) is inside an allowed folder. Returns the
    /// path with its folder resolved.
    pub fn check_write(&self, path: &str) -> Result<PathBuf, String> {
        let p = absolute(path)?;
        let name = match p.components().next_back() {
            Some(Component::Normal(n)) => n.to_owned(),
            _ => {
                return Err(format!(
                    "'{}' does not name a file; give a path ending in a new file name such as report.csv.",
                    p.display()
                ));
            }
        };
        let parent = p.parent().unwrap_or(Path::new("/"));
        let dir = std::fs::canonicalize(parent).map_err(|e| {
            format!(
                "The folder '{}' cannot be used: {}. Choose an existing folder.",
                parent.display(),
                io_reason(&e)
            )
        })?;
        let real = dir.join(name);
        self.inside(&p, &real)?;
        if std::fs::symlink_metadata(&real).is_ok() {
            return Err(format!(
                "'{}' already exists; exports never replace a file. Choose a new file name.",
                p.display()
            ));
        }
        Ok(real)
    }

    fn inside(&self, given: &Path, real: &Path) -> Result<(), String> {
        let folders = self.folders();
        if folders.iter().any(|f| real.starts_with(f)) {
            return Ok(());
        }
        Err(self.refusal(given, &folders))
    }

    fn refusal(&self, given: &Path, folders: &[PathBuf]) -> String {
        let how = if self.client_roots {
            format!(
                "add the folder as a root in your MCP client, or list it in {FILES_ENV} (folders separated by ':') in the server's configuration"
            )
        } else {
            format!("list it in {FILES_ENV} (folders separated by ':') where the server runs")
        };
        if folders.is_empty() {
            return format!(
                "partnermap may not use '{}': no folder is open to its file tools. To allow one, {how}.",
                given.display()
            );
        }
        let list: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        format!(
            "partnermap may not use '{}': through MCP it reads and writes files only inside {}. Move the file there, or {how}.",
            given.display(),
            list.join(", ")
        )
    }
}

/// `PARTNERMAP_FILES`, split on `:` (empty parts ignored).
fn env_folders() -> Vec<PathBuf> {
    std::env::var_os(FILES_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The user's Downloads folder.
fn downloads() -> Option<PathBuf> {
    let dirs = directories::UserDirs::new()?;
    Some(
        dirs.download_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.home_dir().join("Downloads")),
    )
}

fn absolute(path: &str) -> Result<PathBuf, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err(
            "Give the file's full path (for example /home/me/Downloads/accounts.csv).".into(),
        );
    }
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        return Err(format!(
            "'{path}' is a relative path; give the file's full path (starting with /)."
        ));
    }
    Ok(p)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_links_and_new_files() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let f = AllowedFolders::fixed(vec![allowed.path().to_path_buf()]);
        let inside = allowed.path().join("a.csv");
        std::fs::write(&inside, "name,website\n").unwrap();
        let secret = other.path().join("secret");
        std::fs::write(&secret, "x").unwrap();
        assert!(f.check_read(inside.to_str().unwrap()).is_ok());
        let e = f.check_read(secret.to_str().unwrap()).unwrap_err();
        assert!(
            e.contains(&allowed.path().canonicalize().unwrap().display().to_string()),
            "{e}"
        );
        assert!(e.contains(FILES_ENV), "{e}");
        // `..` and a link out of the folder.
        let dotdot = format!(
            "{}/../{}/secret",
            allowed.path().display(),
            other.path().file_name().unwrap().to_str().unwrap()
        );
        assert!(f.check_read(&dotdot).is_err());
        let link = allowed.path().join("link.csv");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert!(f.check_read(link.to_str().unwrap()).is_err());
        let dirlink = allowed.path().join("out");
        std::os::unix::fs::symlink(other.path(), &dirlink).unwrap();
        assert!(
            f.check_write(dirlink.join("new.csv").to_str().unwrap())
                .is_err()
        );
        assert!(f.check_read("a.csv").is_err());
        // Writes: a new file only.
        assert!(
            f.check_write(allowed.path().join("new.csv").to_str().unwrap())
                .is_ok()
        );
        assert!(f.check_write(inside.to_str().unwrap()).is_err());
        assert!(f.check_write(link.to_str().unwrap()).is_err());
        // Nothing allowed.
        let none = AllowedFolders::env_only_from(Vec::new());
        assert!(!none.enabled());
        assert!(
            none.check_read(inside.to_str().unwrap())
                .unwrap_err()
                .contains("no folder")
        );
    }

    impl AllowedFolders {
        fn env_only_from(env: Vec<PathBuf>) -> Self {
            AllowedFolders {
                env,
                client_roots: false,
                downloads_fallback: false,
                roots: Arc::default(),
            }
        }
    }
}
