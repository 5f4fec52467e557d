//! HTML from any source is sanitised before it is stored or relayed.
//!
//! Two steps, both linear in the input whatever it holds: [`bound`] (one pass that keeps only
//! elements and attributes ammonia may keep, closes every element, and limits nesting, counts
//! and attribute sizes; see `c2c_email::parse::bound`), then ammonia's default whitelist on that
//! output (html5ever's tree building is quadratic on some inputs, so it is only ever given
//! bounded HTML). CPU-heavy: callers run it off the async workers.

use c2c_email::parse::bound::bound;

/// Keep formatting, drop scripts, styles, event handlers and anything else unsafe (ammonia's
/// default whitelist). Returns `None` when nothing is left. Tags over the limits of bounded
/// HTML are left out (their text is kept).
pub fn sanitize_html(html: &str) -> Option<String> {
    let bounded = bound(html);
    if bounded.dropped > 0 {
        tracing::info!(
            dropped = bounded.dropped,
            "HTML over the limits of nesting or size: those tags left out, their text kept"
        );
    }
    let clean = ammonia::clean(&bounded.html);
    if clean.trim().is_empty() { None } else { Some(clean) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let out = sanitize_html(r#"<p onclick="steal()">Hi <b>there</b><script>alert(1)</script></p>"#).unwrap();
        assert_eq!(out, "<p>Hi <b>there</b></p>");
        assert_eq!(sanitize_html("<script>x</script>"), None);
        let out = sanitize_html(r#"<a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>"#).unwrap();
        assert!(!out.contains("javascript") && !out.contains("onerror"), "{out}");
    }

    /// A remote image in relayed HTML would be fetched by every recipient's client when the
    /// message is shown (a tracking pixel): it arrives as a link to it instead.
    #[test]
    fn remote_images_become_links() {
        let out = sanitize_html(r#"<p>Map: <img src="https://t.example/open.gif?who=li" alt="Route"></p>"#).unwrap();
        assert!(!out.contains("<img"), "{out}");
        assert!(
            out.contains(r#"href="https://t.example/open.gif?who=li""#) && out.contains("[image: Route]</a>"),
            "{out}"
        );
    }

    #[test]
    fn html_nested_deep_keeps_its_text() {
        let deep = "<div>".repeat(200_000) + "x";
        assert_eq!(sanitize_html(&deep).map(|h| h.ends_with(&format!("x{}", "</div>".repeat(128)))), Some(true));
        // Elements html5ever does not close outside their context, nested as deep as a body allows.
        let ruby = "<rt>".repeat(50_000) + "y";
        assert!(sanitize_html(&ruby).is_some_and(|h| h.contains('y')));
    }
}
