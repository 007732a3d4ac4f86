//! `partnermap serve --peer-listen ADDR [--public-url URL]`: the peer endpoint, and a schedule
//! that retries and refreshes every remote partnership while it runs.

use super::identity::InstanceId;
use super::{net, ops};
use crate::engine::Engine;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Seconds between scheduled syncs (`PARTNERMAP_FED_SYNC_SECS`, default 30; 0 = none).
fn sync_interval() -> Option<Duration> {
    let secs: u64 = std::env::var("PARTNERMAP_FED_SYNC_SECS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(30);
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Binds `listen`, records the public URL, prints where it listens on stderr, and serves until
/// the process ends.
pub fn run(db: &Path, listen: &str, public_url: Option<&str>) -> Result<()> {
    let engine = Engine::open(db)?;
    let me = ops::identity(&engine)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("could not start the runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Io(format!("cannot listen on {listen}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::Io(e.to_string()))?;
        let url = public_url
            .map(str::to_string)
            .unwrap_or_else(|| format!("https://{bound}"));
        ops::set_public_url(&engine, &url)?;
        drop(engine);
        eprintln!(
            "partnermap peer endpoint listening on {bound} (public URL {url}, instance ID {})",
            me.id
        );
        let db: PathBuf = db.to_path_buf();
        if let Some(every) = sync_interval() {
            let db = db.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let db = db.clone();
                    let _ = tokio::task::spawn_blocking(move || match Engine::open(&db) {
                        Ok(mut e) => {
                            if let Err(err) = ops::sync_due(&mut e) {
                                tracing::warn!("scheduled sync failed: {err}");
                            }
                        }
                        Err(err) => tracing::warn!("scheduled sync: {err}"),
                    })
                    .await;
                }
            });
        }
        let handler: net::Handler = Arc::new(move |path: &str, peer: InstanceId, body: Vec<u8>| {
            ops::handle(&db, path, peer, body)
        });
        net::serve(listener, me, handler).await
    })
}
