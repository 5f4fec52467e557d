//! HTML from any source is sanitised before it is stored or relayed.

use c2c_email::parse::{MAX_HTML_DEPTH, html_nesting_depth};

/// Keep formatting, drop scripts, styles, event handlers and anything else unsafe
/// (ammonia's default whitelist). Returns `None` when nothing is left, and for HTML nested
/// deeper than [`MAX_HTML_DEPTH`]: html5ever's tree building is quadratic in the depth (a
/// 1 MiB body of nested `<div>`s would hold a worker for minutes), so such a message is
/// relayed as its text only.
pub fn sanitize_html(html: &str) -> Option<String> {
    let depth = html_nesting_depth(html);
    if depth > MAX_HTML_DEPTH {
        tracing::warn!(depth, max = MAX_HTML_DEPTH, "HTML nested too deep to sanitise; relayed as text only");
        return None;
    }
    let clean = ammonia::clean(html);
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
    }

    #[test]
    fn html_nested_too_deep_is_dropped_not_parsed() {
        let deep = "<div>".repeat(200_000) + "x";
        assert_eq!(sanitize_html(&deep), None);
        let fine = "<div>".repeat(MAX_HTML_DEPTH) + "x";
        assert!(sanitize_html(&fine).is_some());
    }
}
