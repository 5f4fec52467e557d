//! What the tagger's test files share: tagging lines and listing every miss.

// Each test file is its own crate and uses some of these.
#![allow(dead_code)]

use c2c_language::Tagger;

/// The author's languages, most preferred first.
pub fn priors(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

/// Tags each `(expected, text)` with `tagger` and the author's `prior`s; fails listing every miss.
pub fn check(tagger: &Tagger, what: &str, author: &[&str], cases: &[(&str, &str)]) {
    let author = priors(author);
    let misses: Vec<String> = cases
        .iter()
        .filter_map(|(want, text)| {
            let got = tagger.explain(text, &author);
            (got.tag.code != *want).then(|| {
                format!(
                    "  want {want} got {} ({}, {}) priors {author:?}: {text}",
                    got.tag.code, got.tag.confidence, got.layer
                )
            })
        })
        .collect();
    assert!(misses.is_empty(), "{what}: {} of {} wrong:\n{}", misses.len(), cases.len(), misses.join("\n"));
}
