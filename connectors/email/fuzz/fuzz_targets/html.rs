//! Fuzz target: any bytes as HTML, down every path HTML takes in the bridge. Bounded
//! (`c2c_email::parse::bound::bound`), then sanitised by ammonia as the daemon does, and, inside
//! an HTML-only mail, rendered as text by the email parser. Nothing may panic; the bounded HTML
//! must be well-formed (every end tag closes the innermost open element, nothing left open) and
//! within its limits; and no input may be slow per byte. That is the check that finds
//! super-linear cost (html5ever given raw HTML takes seconds for 200 KB of some start tags): the
//! CPU time an input takes is held to a budget linear in its length ([`budget`]), and libFuzzer's
//! `-timeout` (wall clock) stays as a backstop for hangs (README).
#![no_main]

use std::time::Duration;

use c2c_email::parse::bound::{LIMITS, bound};
use c2c_email::parse::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;

/// Check `html` is what `bound` promises: tags of the form `<name ...>` / `</name>`, properly
/// nested, at most `LIMITS.depth` deep and `LIMITS.elements` in all, no `<` in text.
fn well_formed(html: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut elements = 0;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let gt = rest[lt..].find('>').map(|p| lt + p).expect("a tag is closed with `>`");
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "an end tag closes the innermost element: {html}");
            continue;
        }
        let name = tag.split(' ').next().unwrap();
        assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{tag:?}");
        elements += 1;
        if !matches!(name, "area" | "br" | "col" | "hr" | "img" | "wbr") {
            stack.push(name);
            assert!(stack.len() <= LIMITS.depth);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
    assert!(elements <= LIMITS.elements);
}

/// The CPU time (user + system) this thread has used, from `/proc/thread-self/stat` (in clock
/// ticks of 10 ms, Linux's `USER_HZ`). Unlike the wall clock that libFuzzer's `-timeout` reads,
/// it does not grow while the process waits for a CPU, so a budget on it reports inputs that are
/// slow per byte and not inputs that ran on a busy machine (on this shared 2-core machine, at
/// `nice -n 10`, the linear 180 KB table input took 2.5 s of CPU and over 40 s of wall clock).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
    // After the command name's `)`: field 3 (state) onwards; utime is field 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a stat line") + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The most CPU an input of `len` bytes may take: 0.5 s, plus 100 µs per byte. Linear inputs
/// stay well under it (under ASan and coverage instrumentation the densest one seen, nested
/// table rows, takes about 16 µs per byte; ordinary mail less); a quadratic one goes over it as
/// it grows (html5ever's unbounded nesting took seconds per 200 KB uninstrumented).
fn budget(len: usize) -> Duration {
    Duration::from_millis(500) + Duration::from_micros(100) * u32::try_from(len).unwrap_or(u32::MAX)
}

fuzz_target!(|data: &[u8]| {
    let started = thread_cpu();
    let html = String::from_utf8_lossy(data);
    let bounded = bound(&html);
    well_formed(&bounded.html);
    // Bounding what is bounded changes nothing.
    assert_eq!(bound(&bounded.html).html, bounded.html);
    let _ = ammonia::clean(&bounded.html);

    let mail = format!("From: jo@leeds.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}");
    let opts = ParseOptions { max_attachment_bytes: 1024, own_domains: vec!["c2c.test".into()], ..Default::default() };
    if let Ok(parsed) = parse(mail.as_bytes(), &opts) {
        assert!(!parsed.text.contains('\r'));
    }

    let used = thread_cpu() - started;
    assert!(used <= budget(data.len()), "{used:?} of CPU for {} bytes: slower than linear?", data.len());
});
