//! The one maintained list of platforms (SPEC §2): hosts where a link points to a page *about* a
//! company on someone else's site — social networks, business directories, maps, link
//! shorteners — rather than the company's own site. Such a link gives no domain key (otherwise
//! every company with a LinkedIn page in its website field would match every other). The
//! platform's own bare address (`linkedin.com`, `https://www.facebook.com/`) still keys the
//! platform company itself. Email addresses are never platform pages (`jane@linkedin.com` works
//! at LinkedIn).
//!
//! To add a platform: one line below, and a row in the tests of `matching::domain`.

/// What kind of platform a host is (for the reader of the list; the rule is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformKind {
    Social,
    Directory,
    Map,
    Shortener,
    /// Hosted pages on a general site (documents, forms, site builders).
    Hosted,
}

/// One platform, by its registrable domain.
#[derive(Debug)]
pub struct Platform {
    pub domain: &'static str,
    pub kind: PlatformKind,
    /// When empty (and `hosts` empty): any page (non-empty path) is a platform page. Otherwise
    /// only pages whose path starts with one of these (`/maps` on google.com).
    pub paths: &'static [&'static str],
    /// Sub-hosts (first label left of the domain) whose every address is a platform page
    /// (`maps.google.com`, `sites.google.com`).
    pub hosts: &'static [&'static str],
}

const fn any(domain: &'static str, kind: PlatformKind) -> Platform {
    Platform {
        domain,
        kind,
        paths: &[],
        hosts: &[],
    }
}

use PlatformKind::*;

/// The list. Keep it sorted by kind, then domain.
pub const PLATFORMS: &[Platform] = &[
    // Social networks and profile pages.
    any("linkedin.com", Social), // incl. uk.linkedin.com, de.linkedin.com, …
    any("facebook.com", Social),
    any("fb.com", Social),
    any("fb.me", Social),
    any("instagram.com", Social),
    any("twitter.com", Social),
    any("x.com", Social),
    any("youtube.com", Social),
    any("youtu.be", Social),
    any("tiktok.com", Social),
    any("pinterest.com", Social),
    any("reddit.com", Social),
    any("threads.net", Social),
    any("medium.com", Social),
    any("github.com", Social),
    any("gitlab.com", Social),
    any("xing.com", Social),
    any("vk.com", Social),
    any("t.me", Social),
    any("wa.me", Social),
    any("discord.gg", Social),
    any("linktr.ee", Social),
    any("about.me", Social),
    // Business directories, review and data sites.
    any("crunchbase.com", Directory),
    any("zoominfo.com", Directory),
    any("dnb.com", Directory),
    any("bloomberg.com", Directory),
    any("pitchbook.com", Directory),
    any("owler.com", Directory),
    any("angel.co", Directory),
    any("wellfound.com", Directory),
    any("glassdoor.com", Directory),
    any("glassdoor.co.uk", Directory),
    any("indeed.com", Directory),
    any("yelp.com", Directory),
    any("yellowpages.com", Directory),
    any("bbb.org", Directory),
    any("manta.com", Directory),
    any("kompass.com", Directory),
    any("opencorporates.com", Directory),
    any("company-information.service.gov.uk", Directory),
    any("trustpilot.com", Directory),
    any("g2.com", Directory),
    any("capterra.com", Directory),
    any("clutch.co", Directory),
    any("producthunt.com", Directory),
    any("tripadvisor.com", Directory),
    any("wikipedia.org", Directory),
    any("apollo.io", Directory),
    any("rocketreach.co", Directory),
    // Maps.
    Platform {
        domain: "google.com",
        kind: Map,
        paths: &["/maps", "/search", "/url"],
        hosts: &["maps", "sites", "docs", "drive", "business", "plus"],
    },
    Platform {
        domain: "goo.gl",
        kind: Map, // goo.gl/maps/…, maps.app.goo.gl/…; every other goo.gl link is a short link too
        paths: &[],
        hosts: &[],
    },
    any("g.page", Map),
    Platform {
        domain: "apple.com",
        kind: Map,
        paths: &[],
        hosts: &["maps"],
    },
    Platform {
        domain: "bing.com",
        kind: Map,
        paths: &["/maps", "/search"],
        hosts: &[],
    },
    any("openstreetmap.org", Map),
    any("waze.com", Map),
    // Link shorteners.
    any("bit.ly", Shortener),
    any("bitly.com", Shortener),
    any("tinyurl.com", Shortener),
    any("ow.ly", Shortener),
    any("buff.ly", Shortener),
    any("t.co", Shortener),
    any("lnkd.in", Shortener),
    any("rebrand.ly", Shortener),
    any("is.gd", Shortener),
    any("cutt.ly", Shortener),
    any("tiny.cc", Shortener),
    any("shorturl.at", Shortener),
    any("rb.gy", Shortener),
    // Pages hosted on a general site.
    Platform {
        domain: "microsoft.com",
        kind: Hosted,
        paths: &[],
        hosts: &["forms"],
    },
    any("typeform.com", Hosted),
    any("wixsite.com", Hosted),
    any("notion.site", Hosted),
];

/// Whether `host` (lower-cased, registrable domain `domain`) with `path` (what follows the host:
/// path, query, fragment) is a page on a platform rather than a company's own site.
pub fn is_platform_page(host: &str, domain: &str, path: &str) -> Option<PlatformKind> {
    let p = PLATFORMS.iter().find(|p| p.domain == domain)?;
    let sub = host
        .strip_suffix(domain)
        .and_then(|s| s.strip_suffix('.'))
        .unwrap_or("");
    let first = sub.rsplit('.').next().unwrap_or("");
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let page = path.trim_matches('/').chars().any(|c| c != '/');
    let hit = if p.paths.is_empty() && p.hosts.is_empty() {
        page
    } else {
        (!first.is_empty() && p.hosts.contains(&first))
            || p.paths.iter().any(|pre| {
                path == *pre
                    || path
                        .strip_prefix(pre)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    };
    hit.then_some(p.kind)
}
