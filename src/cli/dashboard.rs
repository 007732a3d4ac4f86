//! `partnermap dashboard PATH`: the views (overlaps with each partner, the leaderboard, the deal
//! navigator, partner influence) for the acting org, as one standalone HTML file with the data
//! embedded, to open in any browser offline or to send. The file is created new (never replaces
//! anything) and readable by its owner only.

use clap::Subcommand;
use partnermap::{Engine, Error};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum DashboardCmd {
    /// Write the views (overlaps with each partner, leaderboard, deals, influence) for your
    /// organization as one standalone HTML file that opens offline. PATH must not exist yet.
    Dashboard { path: PathBuf },
}

pub fn run(
    cmd: DashboardCmd,
    engine: Engine,
    user: Option<String>,
    json: bool,
) -> Result<(), Error> {
    let DashboardCmd::Dashboard { path } = cmd;
    if path.as_os_str().is_empty() {
        return Err(partnermap::error::invalid(
            "Give the path of the HTML file to write, e.g. partnermap dashboard report.html.",
        ));
    }
    // Checked before the work, and again by the exclusive create.
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(exists(&path));
    }
    engine.actor(user.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
    let data = rt.block_on(partnermap::mcp::dashboard::dashboard_data(engine, user))?;
    let html = partnermap::views::dashboard_html(&data);
    write_new(&path, html.as_bytes())?;
    let sections = ["leaderboard", "deals", "influence"]
        .into_iter()
        .filter(|k| !data[k].is_null())
        .count()
        + usize::from(data["overlaps"].as_array().is_some_and(|a| !a.is_empty()));
    let notes: Vec<&str> = data["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .collect();
    if json {
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "sections": sections,
            "bytes": html.len(),
            "left_out": notes,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "Wrote {} ({} sections, {} KB). Open it in a browser; it needs no network.",
        path.display(),
        sections,
        html.len().div_ceil(1024)
    );
    for n in notes {
        println!("left out: {n}");
    }
    Ok(())
}

fn exists(path: &Path) -> Error {
    partnermap::error::invalid(format!(
        "'{}' already exists; the dashboard never replaces a file: choose a new path.",
        path.display()
    ))
}

/// Creates `path` new (O_EXCL: an existing file, link or device is never opened), mode 0600,
/// and writes `bytes`; a failed write removes the partial file.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        std::io::ErrorKind::NotFound => partnermap::error::invalid(format!(
            "The folder of '{}' does not exist; create it or choose another path.",
            path.display()
        )),
        _ => Error::Io(format!("cannot create '{}': {e}", path.display())),
    })?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(Error::Io(format!("cannot write '{}': {e}", path.display())));
    }
    Ok(())
}
