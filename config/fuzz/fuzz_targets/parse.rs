//! Fuzz target: any text as a config file, through `Config::parse` (TOML syntax, every section,
//! the checks across sections), as `c2c-bridge run` and `check-config` read it.
//!
//! Checked: nothing panics; every problem is located inside the text (1-based line and column
//! that exist), is one line without control characters (the report is one problem per line, and
//! a value from the file must not carry terminal escapes or line breaks into it), and the
//! problems come in file order; a config that parses holds together (its look-ups find what it
//! lists, its secret references point into the file). Run with `-timeout`: a config is
//! an admin's file, but parsing it must still be linear.
#![no_main]

use std::path::Path;

use c2c_config::Config;
use libfuzzer_sys::fuzz_target;

fn one_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let inside = |line: usize, column: usize| {
        line >= 1 && line <= lines.len() && column >= 1 && column <= lines[line - 1].chars().count() + 1
    };
    match Config::parse(&text, Path::new("fuzz/c2c.toml")) {
        Err(errors) => {
            assert!(!errors.is_empty());
            let mut last = (0, 0);
            for e in &errors {
                assert_eq!(e.file, "fuzz/c2c.toml");
                assert!(inside(e.line, e.column), "{e} is outside the text ({} lines)", lines.len());
                assert!(one_line(&e.message) && !e.message.is_empty(), "{:?}", e.message);
                assert!(one_line(&e.path), "{:?}", e.path);
                assert!((e.line, e.column) >= last, "not in file order: {errors}");
                last = (e.line, e.column);
            }
            assert_eq!(errors.to_string().lines().count(), errors.len());
        }
        Ok(config) => {
            let _ = config.summary();
            for r in config.secret_refs() {
                assert!(inside(r.location().line, r.location().column), "{:?}", r.location());
            }
            for city in &config.cities {
                assert!(config.city(&city.id).is_some_and(|c| std::ptr::eq(c, city)), "duplicate id {}", city.id);
                for contact in &city.contacts {
                    let (found, _) = config.contact(&contact.id).expect("a listed contact is found");
                    assert_eq!(found.id, city.id);
                }
            }
            for p in &config.partnerships {
                for member in &p.members {
                    assert!(config.city(member).is_some(), "partnership {} names unknown {member}", p.id);
                }
            }
            assert!(config.languages_mentioned().contains("en"));
        }
    }
});
