//! One sync: read the connection, page through the CRM (checkpointing each page to a file
//! beside the database), then apply everything in one write transaction.
//!
//! Atomic: nothing touches the database until every page is in; a failure (or a kill) leaves
//! it as it was. Resumable: the checkpoint file (`<db>.crm-sync`, mode 0600, JSON lines)
//! holds the pages read so far and the cursor to go on from; the next sync for the same
//! connection and starting point continues from it, and a successful apply removes it.

use super::http::{Http, RetryPolicy};
use super::{Env, Page, Phase, Vendor, hubspot::Hubspot, process_env, salesforce};
use crate::Engine;
use crate::engine::{CrmConnection, CrmKind, CrmSyncReport, SyncPull, SyncedAccount, SyncedDeal};
use crate::error::{Error, Result, forbidden};
use crate::model::Actor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// How to run a sync.
pub struct SyncOptions {
    /// Read everything (and remove what the CRM no longer has), not only what changed.
    pub full: bool,
    /// Show progress bars (on a terminal only).
    pub progress: bool,
    pub retry: RetryPolicy,
    /// The checkpoint file (None: no checkpoint, no resume).
    pub checkpoint: Option<PathBuf>,
    /// Where tokens and PARTNERMAP_HUBSPOT_API come from.
    pub env: Box<Env>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            full: false,
            progress: false,
            retry: RetryPolicy::default(),
            checkpoint: None,
            env: Box::new(process_env),
        }
    }
}

/// The checkpoint file of a database.
pub fn checkpoint_path(engine: &Engine) -> Option<PathBuf> {
    let p = engine.conn().path()?;
    if p.is_empty() {
        return None;
    }
    Some(PathBuf::from(format!("{p}.crm-sync")))
}

/// What a checkpoint is valid for: the same connection, from the same starting point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    v: u32,
    kind: CrmKind,
    instance_url: Option<String>,
    data_source: String,
    full: bool,
    cursors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedPage {
    phase: Phase,
    next: Option<String>,
    max_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<SyncedAccount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deals: Vec<SyncedDeal>,
}

/// Pages read so far, from a checkpoint.
#[derive(Default)]
struct Resume {
    pages: Vec<SavedPage>,
}

fn read_checkpoint(path: &Path, header: &Header) -> Resume {
    let Ok(f) = std::fs::File::open(path) else {
        return Resume::default();
    };
    let mut lines = std::io::BufReader::new(f).lines();
    let ok = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| serde_json::from_str::<Header>(&l).ok())
        .is_some_and(|h| h == *header);
    if !ok {
        return Resume::default();
    }
    let mut pages = Vec::new();
    for line in lines {
        // A line cut short by a kill ends the checkpoint: its page is read again.
        match line
            .ok()
            .and_then(|l| serde_json::from_str::<SavedPage>(&l).ok())
        {
            Some(p) => pages.push(p),
            None => break,
        }
    }
    Resume { pages }
}

struct Checkpoint {
    file: Option<std::fs::File>,
}

impl Checkpoint {
    fn open(path: Option<&Path>, header: &Header, resume: &Resume) -> Checkpoint {
        let Some(path) = path else {
            return Checkpoint { file: None };
        };
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(path).ok().and_then(|mut f| {
            let mut text = serde_json::to_string(header).ok()?;
            text.push('\n');
            for p in &resume.pages {
                text.push_str(&serde_json::to_string(p).ok()?);
                text.push('\n');
            }
            f.write_all(text.as_bytes()).ok()?;
            Some(f)
        });
        if file.is_none() {
            tracing::warn!(path = %path.display(), "cannot write the sync checkpoint; an interrupted sync will start over");
        }
        Checkpoint { file }
    }

    fn save(&mut self, p: &SavedPage) {
        if let Some(f) = &mut self.file {
            let mut line = serde_json::to_string(p).unwrap_or_default();
            line.push('\n');
            if f.write_all(line.as_bytes()).is_err() {
                self.file = None;
            }
        }
    }
}

/// The vendor client for a connection, with its token from the environment.
fn vendor(c: &CrmConnection, env: &Env) -> Result<Box<dyn Vendor>> {
    let token = env(&c.token_env);
    match c.kind {
        CrmKind::Hubspot => {
            let token = token.ok_or_else(|| {
                forbidden(format!(
                    "No HubSpot token: set the environment variable {} to a private app's access token (scopes: crm.objects.companies.read, crm.objects.deals.read, crm.objects.owners.read). Tokens are never taken from the command line or stored in the database.",
                    c.token_env
                ))
            })?;
            Ok(Box::new(Hubspot::new(
                env("PARTNERMAP_HUBSPOT_API"),
                token,
                c.token_env.clone(),
                c.field_map.clone(),
            )))
        }
        CrmKind::Salesforce => {
            let refresh = match (
                env("PARTNERMAP_SALESFORCE_REFRESH_TOKEN"),
                env("PARTNERMAP_SALESFORCE_CLIENT_ID"),
                env("PARTNERMAP_SALESFORCE_CLIENT_SECRET"),
            ) {
                (Some(refresh_token), Some(client_id), Some(client_secret)) => {
                    Some(salesforce::Refresh {
                        refresh_token,
                        client_id,
                        client_secret,
                    })
                }
                _ => None,
            };
            if token.is_none() && refresh.is_none() {
                return Err(forbidden(format!(
                    "No Salesforce token: set {} to an OAuth access token, or PARTNERMAP_SALESFORCE_REFRESH_TOKEN, PARTNERMAP_SALESFORCE_CLIENT_ID and PARTNERMAP_SALESFORCE_CLIENT_SECRET for a connected app's refresh flow. Tokens are never taken from the command line or stored in the database.",
                    c.token_env
                )));
            }
            let instance = c.instance_url.clone().ok_or_else(|| {
                Error::Invalid(
                    "The Salesforce connection has no instance URL; run 'connect salesforce --instance-url URL'.".into(),
                )
            })?;
            Ok(Box::new(salesforce::Salesforce::new(
                &instance,
                token,
                c.token_env.clone(),
                refresh,
                c.field_map.clone(),
            )))
        }
    }
}

/// Reads the CRM for connection `c` (no database access): every page, checkpointed.
pub fn fetch(c: &CrmConnection, opts: &SyncOptions) -> Result<SyncPull> {
    let full = opts.full || c.last_sync_at.is_none() || c.cursors.is_empty();
    let header = Header {
        v: 1,
        kind: c.kind,
        instance_url: c.instance_url.clone(),
        data_source: c.data_source.clone(),
        full,
        cursors: c.cursors.clone(),
    };
    let resume = match &opts.checkpoint {
        Some(p) => read_checkpoint(p, &header),
        None => Resume::default(),
    };
    let mut checkpoint = Checkpoint::open(opts.checkpoint.as_deref(), &header, &resume);
    let mut vendor = vendor(c, opts.env.as_ref())?;
    let mut http = Http::new(c.kind.label(), opts.retry)?;
    vendor.prepare(&mut http)?;

    let mut pull = SyncPull {
        full,
        ..SyncPull::default()
    };
    let mut marks: BTreeMap<String, String> = BTreeMap::new();
    let mut note = |phase: Phase, m: &Option<String>, v: &dyn Vendor| {
        if let Some(m) = m {
            let e = marks
                .entry(phase.as_str().to_string())
                .or_insert_with(|| m.clone());
            if v.later(m, e) {
                *e = m.clone();
            }
        }
    };
    // Where each phase stands after the checkpoint: done, or the cursor to go on from.
    let mut state: BTreeMap<&str, (bool, Option<String>)> = BTreeMap::new();
    let resumed_pages = resume.pages.len();
    for p in resume.pages {
        note(p.phase, &p.max_modified, vendor.as_ref());
        state.insert(p.phase.as_str(), (p.next.is_none(), p.next.clone()));
        pull.accounts.extend(p.accounts);
        pull.deals.extend(p.deals);
    }
    if resumed_pages > 0 {
        tracing::info!(
            pages = resumed_pages,
            "resuming the CRM sync from its checkpoint"
        );
    }
    let bars = opts.progress.then(indicatif::MultiProgress::new);
    for phase in Phase::ALL {
        let (done, mut cursor) = state.get(phase.as_str()).cloned().unwrap_or((false, None));
        if done {
            continue;
        }
        let since = if full {
            None
        } else {
            c.cursors.get(phase.as_str()).cloned()
        };
        let bar = bars.as_ref().map(|m| {
            let b = m.add(indicatif::ProgressBar::new_spinner());
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {pos}/{len} ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.set_message(format!("{} {}", c.kind.label(), phase.as_str()));
            b
        });
        loop {
            let Page {
                accounts,
                deals,
                next,
                max_modified,
                total,
            } = vendor.page(&mut http, phase, cursor.as_deref(), since.as_deref())?;
            if let Some(b) = &bar {
                if let Some(t) = total {
                    b.set_length(t);
                }
                b.inc((accounts.len() + deals.len()) as u64);
            }
            note(phase, &max_modified, vendor.as_ref());
            let saved = SavedPage {
                phase,
                next: next.clone(),
                max_modified,
                accounts,
                deals,
            };
            checkpoint.save(&saved);
            pull.accounts.extend(saved.accounts);
            pull.deals.extend(saved.deals);
            if next.is_none() || next == cursor {
                break;
            }
            cursor = next;
        }
        if let Some(b) = bar {
            b.finish();
        }
    }
    pull.cursors = marks;
    pull.requests = http.requests;
    Ok(pull)
}

/// A whole sync for the acting user: fetch, then apply in one transaction; the checkpoint is
/// removed once applied.
pub fn run(engine: &mut Engine, actor: &Actor, opts: &SyncOptions) -> Result<CrmSyncReport> {
    let c = engine.crm_sync_target(actor)?;
    let pull = fetch(&c, opts)?;
    let report = engine.apply_crm_sync(actor, &c, pull)?;
    if let Some(p) = &opts.checkpoint {
        let _ = std::fs::remove_file(p);
    }
    Ok(report)
}
