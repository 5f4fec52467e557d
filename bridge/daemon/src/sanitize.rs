//! HTML from any source is sanitised before it is stored or relayed.

/// Keep formatting, drop scripts, styles, event handlers and anything else unsafe
/// (ammonia's default whitelist). Returns `None` when nothing is left.
pub fn sanitize_html(html: &str) -> Option<String> {
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
}
