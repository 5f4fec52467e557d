//! Shape checks of single values (no network): ids, email addresses, Matrix ids, URLs.

/// Ids of cities, contacts and partnerships: they appear in URLs (`/hooks/{id}`) and email
/// aliases (`bridge+{id}@`), so letters, digits, `.`, `_` and `-` only, starting with a letter
/// or digit.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("an id must not be empty".into());
    }
    let first_ok = id.starts_with(|c: char| c.is_ascii_alphanumeric());
    let rest_ok = id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if first_ok && rest_ok && id.len() <= 64 {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a valid id (up to 64 letters, digits, '.', '_' or '-', starting with a \
             letter or digit)"
        ))
    }
}

/// A plausible email address: one `@`, a non-empty local part and domain, no spaces.
pub(crate) fn check_email(address: &str) -> Result<(), String> {
    let bad = || Err(format!("{address:?} is not a plausible email address (expected local@domain)"));
    let Some((local, domain)) = address.split_once('@') else {
        return bad();
    };
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c);
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || address.contains(forbidden)
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    Ok(())
}

/// A Matrix user id: `@localpart:server`.
pub(crate) fn check_matrix_user(user_id: &str) -> Result<(), String> {
    let ok = user_id.strip_prefix('@').and_then(|rest| rest.split_once(':')).is_some_and(|(local, server)| {
        !local.is_empty() && !server.is_empty() && !user_id.contains(|c: char| c.is_whitespace() || c.is_control())
    });
    if ok { Ok(()) } else { Err(format!("{user_id:?} is not a Matrix user id (expected @localpart:server)")) }
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !url.contains(|c: char| c.is_whitespace() || c.is_control()) =>
        {
            // The parser the HTTP client uses: what passes here is what it will send to.
            url::Url::parse(url).map(|_| ()).map_err(|e| format!("{url:?} is not a valid URL: {e}"))
        }
        Some(_) => Err(format!("{url:?} is not a valid URL (no host, or spaces)")),
        None => Err(format!("{url:?} must start with http:// or https://")),
    }
}

/// A peer's base URL: `https://`, or `http://` with a loopback host only (a test peer on this
/// machine): what peers exchange is private, and signatures do not hide it. No query or
/// fragment: the routes `/peer/v1/...` are added to it.
pub(crate) fn check_peer_url(url: &str) -> Result<(), String> {
    check_http_url(url)?;
    if url.contains(['?', '#']) {
        return Err(format!("{url:?} has a query or fragment; a peer's url is the base its /peer/v1/ routes go under"));
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = url_host(rest);
        if !is_loopback_host(host) {
            return Err(format!(
                "http:// sends what peers exchange in clear text; it is only allowed with a loopback host \
                 (127.0.0.1, ::1, localhost), not {host:?}: use https://"
            ));
        }
    }
    Ok(())
}

/// The host of a URL's remainder after `scheme://`: before the path, without user info or port
/// (`[::1]` keeps its brackets).
fn url_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port, |end| &host_port[..=end])
    } else {
        host_port.split(':').next().unwrap_or("")
    }
}

/// A peer's public key as its `GET /peer/v1/keys` shows it: `whpk_` and the standard base64 of
/// its 32-byte ed25519 key (44 characters, the final `=` optional). The message says what is
/// wrong, and never quotes a value that looks like a secret.
pub(crate) fn check_public_key(key: &str) -> Result<(), String> {
    use base64::Engine as _;
    const SHAPE: &str = "expected \"whpk_\" and the base64 of the peer's 32-byte ed25519 key, as GET /peer/v1/keys on the peer shows it";
    let not = |what: String| Err(format!("{key:?} is not a peer public key: {what} ({SHAPE})"));
    let Some(encoded) = key.strip_prefix(crate::model::Peer::KEY_PREFIX) else {
        if key.starts_with("whsec_") {
            return Err(format!(
                "this is a webhook secret (whsec_...), and secrets never sit in the config file; a peer public key \
                 starts with \"whpk_\" ({SHAPE})"
            ));
        }
        return not("it does not start with \"whpk_\"".to_string());
    };
    if let Some(c) = encoded.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))) {
        return not(format!("{c:?} is not a base64 character"));
    }
    let data = encoded.trim_end_matches('=');
    let padded = data.len() < encoded.len();
    if data.contains('=') || data.len() % 4 == 1 || (padded && encoded.len() % 4 != 0) {
        return not("it is not valid base64".to_string());
    }
    let bytes = data.len() * 3 / 4;
    if bytes != 32 {
        return not(format!("after \"whpk_\" comes the base64 of {bytes} bytes, not 32"));
    }
    match base64::engine::general_purpose::STANDARD_NO_PAD.decode(data) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => not("it is not valid base64".to_string()),
    }
}

/// An ISO 3166-1 alpha-2 shape: two ASCII capital letters.
pub(crate) fn check_country(code: &str) -> Result<(), String> {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{code:?} is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. \"GB\")"))
    }
}

/// A contact's topic: one lowercase word (letters of any script and digits), parts joined by
/// single hyphens (`"education"`, `"smart-city"`, `"交通"`), at most 40 characters. One word,
/// because an officer types it after the city in `/who gifu education`; lowercase, so that the
/// directory lists it the one way it is written.
pub(crate) fn check_topic(topic: &str) -> Result<(), String> {
    let part_ok = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() && !c.is_uppercase());
    if topic.chars().count() <= 40 && topic.split('-').all(part_ok) {
        return Ok(());
    }
    let lower = topic.trim().to_lowercase();
    let hint = if lower != topic && check_topic(&lower).is_ok() {
        format!("; did you mean {lower:?}?")
    } else {
        let joined =
            lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-");
        if !joined.is_empty() && check_topic(&joined).is_ok() {
            format!("; did you mean {joined:?}?")
        } else {
            String::new()
        }
    };
    Err(format!(
        "{topic:?} is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\"){hint}"
    ))
}

/// True for `localhost`, `127.x.y.z` and `::1`: where a clear-text test server may run.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A language code the tagger knows (ISO 639-1, else 639-3): `c2c_language::is_valid_code`.
pub(crate) fn check_language(code: &str) -> Result<(), String> {
    if c2c_language::is_valid_code(code) {
        return Ok(());
    }
    match c2c_language::canonical_code(code) {
        Some(valid) => Err(format!("{code:?} is not a language code we record; did you mean {valid:?}?")),
        None => Err(format!("{code:?} is not an ISO 639-1 (or 639-3) language code, e.g. \"en\", \"zh\", \"ja\"")),
    }
}

/// A date written `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if text.len() == 10 => Ok(date),
        _ => Err(format!("{text:?} is not a valid date (YYYY-MM-DD)")),
    }
}

/// A deliverable's `due`: a date `YYYY-MM-DD`, or an RFC 3339 date-time with an offset
/// (`2027-01-15T10:00:00+01:00`, `2027-01-15T01:00:00Z`).
pub(crate) fn parse_due(text: &str) -> Result<crate::model::Due, String> {
    use crate::model::Due;
    if let Ok(date) = parse_date(text) {
        return Ok(Due::Date(date));
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Due::DateTime(at));
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .any(|f| chrono::NaiveDateTime::parse_from_str(text, f).is_ok());
    if local {
        return Err(format!(
            "{text:?} has no UTC offset: write a date (due at the end of that day in the owner's time \
             zone) or a date-time with an offset, e.g. \"2027-01-15T10:00:00+01:00\""
        ));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return parse_date(text).map(Due::Date);
    }
    Err(format!(
        "{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time (e.g. \"2027-01-15T10:00:00+01:00\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("hz-leeds.2024_a").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("-x").is_err());
        assert!(check_id("a b").is_err());
        assert!(check_id("a+b").is_err());
    }

    #[test]
    fn emails() {
        assert!(check_email("jo.smith@leeds.example").is_ok());
        assert!(check_email("bridge@localhost").is_ok());
        for bad in ["", "jo", "@x", "jo@", "a@b@c", "jo smith@x", "jo@x..y", "<jo@x>"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matrix_ids() {
        assert!(check_matrix_user("@liwei:matrix.example.org").is_ok());
        assert!(check_matrix_user("@a:localhost:8008").is_ok());
        for bad in ["liwei:x", "@:x", "@a:", "@a", "@a b:x"] {
            assert!(check_matrix_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert!(check_http_url("https://intranet.gifu.example/c2c").is_ok());
        assert!(check_http_url("http://127.0.0.1:8491/gifu").is_ok());
        assert!(check_http_url("ftp://x").is_err());
        assert!(check_http_url("https://").is_err());
        assert!(check_http_url("https://a b").is_err());
        assert!(check_http_url("https://gifu.example:99999/c2c").is_err());
        assert!(check_http_url("http://[::1/c2c").is_err());
    }

    #[test]
    fn dates_and_due_times() {
        use crate::model::Due;
        assert_eq!(parse_date("2027-01-15").unwrap().to_string(), "2027-01-15");
        for bad in ["2027-02-30", "2027-1-5", "15/01/2027", ""] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse_due("2027-01-15"), Ok(Due::Date(_))));
        let Ok(Due::DateTime(at)) = parse_due("2027-01-15T10:00:00+01:00") else { panic!() };
        assert_eq!(at.to_rfc3339(), "2027-01-15T10:00:00+01:00");
        assert!(matches!(parse_due("2027-01-15T09:00:00Z"), Ok(Due::DateTime(_))));
        assert!(parse_due("2027-01-15T10:00:00").unwrap_err().contains("has no UTC offset"));
        assert!(parse_due("2027-01-15 10:00").unwrap_err().contains("has no UTC offset"));
        assert!(parse_due("2027-02-30").unwrap_err().contains("is not a valid date (YYYY-MM-DD)"));
        assert!(parse_due("next week").unwrap_err().contains("is neither a date"));
    }

    #[test]
    fn peer_urls() {
        assert!(check_peer_url("https://c2c.uk-lga.example/").is_ok());
        assert!(check_peer_url("https://c2c.example/base/").is_ok());
        assert!(check_peer_url("http://127.0.0.1:8481/").is_ok());
        assert!(check_peer_url("http://[::1]:8481").is_ok());
        assert!(check_peer_url("http://localhost").is_ok());
        assert!(check_peer_url("http://c2c.example/").unwrap_err().contains("not \"c2c.example\": use https://"));
        assert!(check_peer_url("http://127.0.0.1.evil.example/").is_err());
        assert!(check_peer_url("http://x@c2c.example:80/").unwrap_err().contains("not \"c2c.example\""));
        assert!(check_peer_url("https://c2c.example/?a=b").unwrap_err().contains("query or fragment"));
        assert!(check_peer_url("ftp://c2c.example/").is_err());
    }

    #[test]
    fn public_keys() {
        let key = format!("whpk_{}", "A".repeat(43));
        assert!(check_public_key(&key).is_ok());
        assert!(check_public_key(&format!("{key}=")).is_ok(), "padded or not");
        assert!(check_public_key(&"A".repeat(43)).unwrap_err().contains("does not start with \"whpk_\""));
        assert!(check_public_key("whpk_...").unwrap_err().contains("'.' is not a base64 character"));
        assert!(
            check_public_key("whpk_AAAA").unwrap_err().contains("after \"whpk_\" comes the base64 of 3 bytes, not 32")
        );
        assert!(check_public_key(&format!("{key}A")).unwrap_err().contains("the base64 of 33 bytes, not 32"));
        assert!(check_public_key("whpk_").unwrap_err().contains("the base64 of 0 bytes, not 32"));
        for bad in [format!("{key}=="), format!("{key}A="), format!("whpk_A={}", "A".repeat(41)), format!("{key}AA")] {
            let e = check_public_key(&bad).unwrap_err();
            assert!(e.contains("not valid base64") || e.contains("bytes, not 32"), "{bad}: {e}");
        }
        // The last character carries 2 bits of padding that must be zero.
        assert!(check_public_key(&format!("whpk_{}B", "A".repeat(42))).unwrap_err().contains("not valid base64"));
        let secret = check_public_key("whsec_c2VjcmV0").unwrap_err();
        assert!(secret.contains("webhook secret") && !secret.contains("c2VjcmV0"), "{secret}");
    }

    #[test]
    fn loopback() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("::1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(!is_loopback_host("mail.example.org"));
        assert!(!is_loopback_host("10.0.0.1"));
    }
}
