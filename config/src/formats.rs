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
            Ok(())
        }
        Some(_) => Err(format!("{url:?} is not a valid URL (no host, or spaces)")),
        None => Err(format!("{url:?} must start with http:// or https://")),
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
    fn loopback() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("::1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(!is_loopback_host("mail.example.org"));
        assert!(!is_loopback_host("10.0.0.1"));
    }
}
