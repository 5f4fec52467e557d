//! HTML for Matrix: sanitised to the subset the Matrix spec allows in `formatted_body`.

use std::collections::HashSet;

/// The tags the Matrix client-server spec recommends clients allow in `org.matrix.custom.html`.
const ALLOWED: &[&str] = &[
    "font",
    "del",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "p",
    "a",
    "ul",
    "ol",
    "sup",
    "sub",
    "li",
    "b",
    "i",
    "u",
    "strong",
    "em",
    "strike",
    "code",
    "hr",
    "br",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "pre",
    "span",
    "img",
    "details",
    "summary",
];

/// Keep only Matrix's allowed tags (and safe attributes); drop scripts and everything else.
pub fn matrix_html(html: &str) -> String {
    let tags: HashSet<&str> = ALLOWED.iter().copied().collect();
    ammonia::Builder::default()
        .tags(tags)
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["https", "http", "mailto", "mxc"].into_iter().collect())
        .clean(html)
        .to_string()
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_matrix_subset_survives() {
        let out =
            matrix_html(r#"<p>Hi <b>there</b><script>x()</script><iframe src="x"></iframe><marquee>m</marquee></p>"#);
        assert_eq!(out, "<p>Hi <b>there</b>m</p>");
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
