//! `Authentication-Results` (RFC 8601): did the receiving server see the From domain pass or
//! fail DKIM, SPF or DMARC?
//!
//! - **Trust**: anyone can write an Authentication-Results header into their own mail; only the
//!   receiving server's count. With `trusted_authserv_ids` set, every header whose authserv-id
//!   (the first token, before `;`) is one of them is read, and no other; with none set, only the
//!   topmost header (the one the last hop added, if it added one: the connector then reads
//!   failures only, see `classify`).
//! - **Parsing**: comments `( ... )` (nested) are removed outside quoted strings, the header is
//!   split on `;` outside quoted strings, each result is `method=result` followed by
//!   `ptype.property=value` pairs.
//! - **Results**: `pass` and `fail` count (not `softfail`, `neutral`, `none`, `temperror`,
//!   `permerror`: they are neither). The domain is `header.d` (else the domain of `header.i`)
//!   for `dkim`, the domain of `smtp.mailfrom` for `spf`, `header.from` for `dmarc`.
//! - **Alignment**: results for domains unrelated to the From domain (a mailing list's or an
//!   ESP's own signature, a stranger's own SPF) are left out: the domain must equal the From
//!   domain, or one must be a subdomain of the other (DMARC's relaxed alignment, without a public
//!   suffix list: a server that runs DMARC itself gives the exact answer as `dmarc=pass`).

use super::headers::RawHeaders;
use super::{AuthResult, Mailbox};

/// The aligned `pass` and `fail` results of the trusted headers, each once, in header order.
pub(crate) fn results(raw: &RawHeaders, from: Option<&Mailbox>, trusted: &[String]) -> Vec<AuthResult> {
    let from_domain = from.and_then(|f| f.address.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
    let headers: Vec<&str> = if trusted.is_empty() {
        raw.get("authentication-results").into_iter().collect()
    } else {
        raw.all("authentication-results")
            .filter(|h| {
                let id = authserv_id(h);
                trusted.iter().any(|t| t.trim().eq_ignore_ascii_case(&id))
            })
            .collect()
    };
    let (mut out, mut seen): (Vec<AuthResult>, std::collections::HashSet<AuthResult>) = Default::default();
    for h in headers {
        for f in parse(h) {
            let aligned = from_domain.as_deref().is_none_or(|fd| {
                fd == f.domain || fd.ends_with(&format!(".{}", f.domain)) || f.domain.ends_with(&format!(".{fd}"))
            });
            if aligned && seen.insert(f.clone()) {
                out.push(f);
            }
        }
    }
    out
}

/// The authserv-id of a header value, lowercased.
fn authserv_id(value: &str) -> String {
    let clean = strip_comments(value);
    split_semicolons(&clean).first().and_then(|s| s.split_whitespace().next()).unwrap_or_default().to_ascii_lowercase()
}

/// The dkim/spf/dmarc passes and failures of one header value.
fn parse(value: &str) -> Vec<AuthResult> {
    let clean = strip_comments(value);
    let mut out = Vec::new();
    for resinfo in split_semicolons(&clean).into_iter().skip(1) {
        let mut tokens = tokenize(&resinfo).into_iter();
        let Some((method, result)) =
            tokens.next().and_then(|t| t.split_once('=').map(|(m, r)| (m.to_string(), r.to_string())))
        else {
            continue;
        };
        let method = method.split('/').next().unwrap_or_default().trim().to_ascii_lowercase();
        let result = result.trim().to_ascii_lowercase();
        if !matches!(result.as_str(), "pass" | "fail") || !matches!(method.as_str(), "dkim" | "spf" | "dmarc") {
            continue;
        }
        let props: Vec<(String, String)> = tokens
            .filter_map(|t| t.split_once('=').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
            .collect();
        let prop = |name: &str| props.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let domain = match method.as_str() {
            "dkim" => prop("header.d").or_else(|| prop("header.i")),
            "spf" => prop("smtp.mailfrom").or_else(|| prop("smtp.helo")),
            _ => prop("header.from"),
        };
        let Some(domain) = domain.map(|d| d.rsplit_once('@').map_or(d, |(_, d)| d)) else { continue };
        let domain: String = domain
            .trim_matches(['"', '<', '>', '.'])
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .to_lowercase();
        if domain.is_empty() || domain.contains(char::is_whitespace) {
            continue;
        }
        out.push(AuthResult { method, domain, result });
    }
    out
}

/// Removes `(comments)`, nested, outside quoted strings.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_semicolons(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in s.chars() {
        if c == ';' && !quoted {
            parts.push(String::new());
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts
}

/// Whitespace-separated tokens, with `a = b` glued into `a=b` and quotes removed.
fn tokenize(s: &str) -> Vec<String> {
    let glued = s.replace(" =", "=").replace("= ", "=");
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in glued.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_failures() {
        let v = "mail.c2c.test 1; dkim=fail (signature did not verify (body hash)) header.d=Leeds.gov.uk header.s=s1;\n spf=softfail smtp.mailfrom=jo@leeds.gov.uk; dmarc=fail (p=quarantine) header.from=leeds.gov.uk; spf=fail smtp.mailfrom=\"bounce@mail.leeds.gov.uk\"";
        assert_eq!(authserv_id(v), "mail.c2c.test");
        let f = parse(v);
        let got: Vec<(&str, &str, &str)> =
            f.iter().map(|f| (f.method.as_str(), f.result.as_str(), f.domain.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("dkim", "fail", "leeds.gov.uk"),
                ("dmarc", "fail", "leeds.gov.uk"),
                ("spf", "fail", "mail.leeds.gov.uk")
            ]
        );
    }

    #[test]
    fn no_results() {
        assert!(parse("mx.example; none").is_empty());
        assert!(parse("").is_empty());
        assert!(parse("x; dkim=fail").is_empty());
    }
}
