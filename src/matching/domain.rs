//! Domain keys: the registrable domain (eTLD+1) of a website, by the compiled-in public suffix list.

use url::{Host, Url};

/// Free-mail providers. Applied only when the value is an email address: a website field is
/// never blocked by this list (yahoo.com is a company too).
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "t-online.de",
    "libero.it",
    "btinternet.com",
    "comcast.net",
    "verizon.net",
    "att.net",
];

/// The host and what follows it (path, query, fragment) of a plain
/// `[http[s]://]host[:port][/path]` value with an ASCII host, without the cost of a full URL
/// parse; `None` sends the value to [`url_host`] (IDNA, IPv6, user info, other schemes).
fn fast_host(v: &str) -> Option<(String, &str)> {
    let rest = if v.len() >= 8 && v[..8].eq_ignore_ascii_case("https://") {
        &v[8..]
    } else if v.len() >= 7 && v[..7].eq_ignore_ascii_case("http://") {
        &v[7..]
    } else if v.contains("://") {
        return None;
    } else {
        v
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => authority,
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        || host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        // Empty, non-ASCII or unusual characters, or an IPv4 address: let the URL parser decide.
        return None;
    }
    Some((
        host.trim_end_matches('.').to_ascii_lowercase(),
        &rest[end..],
    ))
}

/// The host and its path by a full URL parse (`url` lower-cases and IDNA-normalizes domain
/// hosts); `None` for IP addresses and unparseable values.
fn url_host(v: &str) -> Option<(String, String)> {
    let with_scheme;
    let v = if v.contains("://") {
        v
    } else {
        with_scheme = format!("http://{v}");
        &with_scheme
    };
    let url = Url::parse(v).ok()?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    match url.host()? {
        Host::Domain(d) => Some((d.trim_end_matches('.').to_ascii_lowercase(), path)),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

/// The domain key of a website value, or `None` when it has none (empty, IP address, invalid
/// host, a public suffix itself, unknown suffix, a free-mail address, or a page on a platform:
/// see [`super::platforms`]).
///
/// `https://www.Shop.Acme.co.uk/about?x` → `acme.co.uk`; `sales@acme.com` → `acme.com`;
/// `https://www.linkedin.com/company/acme` → none; `linkedin.com` → `linkedin.com`.
pub fn domain_key(website: &str) -> Option<String> {
    let raw = website.trim();
    if raw.is_empty() || raw.chars().any(char::is_whitespace) {
        return None;
    }
    let raw = match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &raw[7..],
        _ => raw,
    };
    // An email address: take its domain, but never a free-mail provider's.
    let (candidate, from_email) = match raw.rsplit_once('@') {
        Some((local, dom)) if !raw.contains("://") && !local.is_empty() && !dom.contains('/') => {
            (dom.split(['?', '#']).next().unwrap_or(dom), true)
        }
        _ => (raw, false),
    };
    let (host, path) = match fast_host(candidate) {
        Some((h, p)) => (h, std::borrow::Cow::Borrowed(p)),
        None => {
            let (h, p) = url_host(candidate)?;
            (h, std::borrow::Cow::Owned(p))
        }
    };
    if host.is_empty() || !host.contains('.') {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    let key = std::str::from_utf8(domain.as_bytes()).ok()?.to_string();
    if from_email {
        if FREE_MAIL.contains(&key.as_str()) {
            return None;
        }
    } else if super::platforms::is_platform_page(&host, &key, &path).is_some() {
        return None;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::domain_key;

    fn k(s: &str) -> Option<String> {
        domain_key(s)
    }

    #[test]
    fn registrable_domain() {
        assert_eq!(
            k("https://www.Shop.Acme.co.uk/about?x").as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(k("acme.com").as_deref(), Some("acme.com"));
        assert_eq!(k("WWW.ACME.COM").as_deref(), Some("acme.com"));
        assert_eq!(
            k("http://acme.com:8080/path#frag").as_deref(),
            Some("acme.com")
        );
        assert_eq!(
            k("  https://eu.app.acme.com/  ").as_deref(),
            Some("acme.com")
        );
        assert_eq!(k("acme.com.").as_deref(), Some("acme.com"));
        assert_eq!(k("foo.github.io").as_deref(), Some("foo.github.io"));
        assert_eq!(
            k("HTTPS://WWW.UMBRELLA.COM").as_deref(),
            Some("umbrella.com")
        );
        assert_eq!(k("https://user@acme.com/").as_deref(), Some("acme.com"));
        assert_eq!(k("ftp://files.acme.com/x").as_deref(), Some("acme.com"));
    }

    #[test]
    fn idna_is_normalized() {
        assert_eq!(
            k("https://www.bücher.de").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(k("xn--bcher-kva.de").as_deref(), Some("xn--bcher-kva.de"));
    }

    #[test]
    fn no_key() {
        for s in [
            "",
            "   ",
            "n/a",
            "-",
            "localhost",
            "http://192.168.1.1/",
            "10.0.0.1",
            "http://[::1]/",
            "co.uk",
            "com",
            "acme.notarealtld",
            "not a url",
            "http://",
            "http://10.1.2.3:8080/x",
            "https://acme.com:notaport/",
        ] {
            assert_eq!(k(s), None, "{s:?}");
        }
    }

    #[test]
    fn email_addresses() {
        assert_eq!(k("jane@acme.com").as_deref(), Some("acme.com"));
        assert_eq!(k("jane@gmail.com"), None);
        assert_eq!(k("jane@yahoo.com"), None);
        // a website field is never blocked by the free-mail list
        assert_eq!(k("https://www.yahoo.com").as_deref(), Some("yahoo.com"));
        assert_eq!(k("yahoo.com").as_deref(), Some("yahoo.com"));
    }

    #[test]
    fn platform_pages_give_no_key() {
        for s in [
            // social networks, with country sub-domains
            "https://www.linkedin.com/company/acme",
            "linkedin.com/company/acme-gmbh/",
            "https://uk.linkedin.com/company/acme",
            "de.linkedin.com/in/jane-doe",
            "https://www.facebook.com/acme",
            "facebook.com/pages/Acme/123456",
            "https://m.facebook.com/acme",
            "https://x.com/acme",
            "https://twitter.com/acme",
            "https://www.instagram.com/acme/",
            "youtube.com/@acme",
            "https://github.com/acme",
            // directories
            "https://www.crunchbase.com/organization/acme",
            "https://www.zoominfo.com/c/acme-inc/123",
            "https://find-and-update.company-information.service.gov.uk/company/01234567",
            "https://www.yelp.com/biz/acme-san-francisco",
            // maps
            "https://www.google.com/maps/place/Acme/@51.5,-0.1",
            "https://maps.google.com/?cid=123",
            "https://goo.gl/maps/abc123",
            "https://maps.app.goo.gl/abc123",
            "https://maps.apple.com/?q=acme",
            // shorteners
            "https://bit.ly/3xYz",
            "http://tinyurl.com/acme",
            "lnkd.in/abc",
            "https://linktr.ee/acme",
            // hosted pages
            "https://sites.google.com/view/acme",
            "https://docs.google.com/forms/d/e/1/viewform",
        ] {
            assert_eq!(k(s), None, "{s:?}");
        }
    }

    #[test]
    fn platforms_themselves_keep_their_domain() {
        assert_eq!(k("linkedin.com").as_deref(), Some("linkedin.com"));
        assert_eq!(
            k("https://www.linkedin.com/").as_deref(),
            Some("linkedin.com")
        );
        assert_eq!(
            k("https://www.facebook.com").as_deref(),
            Some("facebook.com")
        );
        assert_eq!(k("x.com").as_deref(), Some("x.com"));
        assert_eq!(k("bit.ly").as_deref(), Some("bit.ly"));
        assert_eq!(k("https://www.google.com/").as_deref(), Some("google.com"));
        // a page on google.com that is not a map is Google's own
        assert_eq!(
            k("https://about.google.com/").as_deref(),
            Some("google.com")
        );
        assert_eq!(
            k("https://www.apple.com/iphone").as_deref(),
            Some("apple.com")
        );
        // people at a platform company
        assert_eq!(k("jane@linkedin.com").as_deref(), Some("linkedin.com"));
    }

    #[test]
    fn private_suffixes_are_sites_of_their_own() {
        assert_eq!(
            k("https://acme.github.io/docs").as_deref(),
            Some("acme.github.io")
        );
        assert_eq!(
            k("shop.myshopify.com").as_deref(),
            Some("shop.myshopify.com")
        );
        assert_eq!(
            k("https://acme.herokuapp.com/").as_deref(),
            Some("acme.herokuapp.com")
        );
        assert_ne!(k("acme.github.io"), k("globex.github.io"));
        // the suffix itself is no one's site
        assert_eq!(k("github.io"), None);
        assert_eq!(k("myshopify.com"), None);
    }

    #[test]
    fn email_forms() {
        assert_eq!(k("mailto:sales@acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(k("Jane.Doe@EU.Acme.com").as_deref(), Some("acme.com"));
        assert_eq!(k("jane@hotmail.co.uk"), None);
        assert_eq!(k("jane@outlook.com"), None);
    }
}
