//! What HTML costs, on adversarial input beside ordinary mail of the same size: the two paths
//! every HTML body takes (sanitising for relay: `sanitize_html`; rendering a mail's text:
//! `c2c_email::parse::parse`), timed per byte. The adversarial inputs use every element name of
//! the HTML standard (current and obsolete, plus the SVG and MathML roots), each in four shapes:
//! start tags never closed, pure nesting, open/close pairs inside a deep context, and one tag
//! with as many distinct attributes as fit.
//!
//! ```sh
//! cargo run --release -p c2c-bridge --example html_cost [-- SIZE_KIB]   # default 1024
//! ```
//!
//! Prints the ordinary mail's cost, the ten worst inputs, and the worst over ordinary.

use std::time::Instant;

use c2c_bridge::sanitize::sanitize_html;
use c2c_email::parse::{ParseOptions, parse};

const NAMES: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "basefont",
    "bdi",
    "bdo",
    "bgsound",
    "big",
    "blink",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "i",
    "iframe",
    "image",
    "img",
    "input",
    "ins",
    "isindex",
    "kbd",
    "keygen",
    "label",
    "legend",
    "li",
    "link",
    "listing",
    "main",
    "map",
    "mark",
    "marquee",
    "math",
    "menu",
    "menuitem",
    "meta",
    "meter",
    "multicol",
    "nav",
    "nextid",
    "nobr",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "param",
    "picture",
    "plaintext",
    "pre",
    "progress",
    "q",
    "rb",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "script",
    "search",
    "section",
    "select",
    "slot",
    "small",
    "source",
    "spacer",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
    "xmp",
    "foreignObject",
    "desc",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "annotation-xml",
];

/// Ordinary mail HTML: an Outlook-style reply with paragraphs, a table, links and a quote.
const ORDINARY: &str = r#"<div class="WordSection1"><p class="MsoNormal">Dear Minjun,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Our councillor for equalities will speak on the
second day; the programme is <a href="https://leeds.gov.uk/forum/programme">online</a>. I will send her
biography next week.<o:p></o:p></p><table class="MsoTableGrid" border="1"><tr><td><p>Day 1</p></td><td><p>Opening,
<b>panel</b> &amp; <i>visits</i></p></td></tr><tr><td><p>Day 2</p></td><td><p>Workshops &ndash; rooms A&ndash;C</p>
</td></tr></table><ul><li>Travel: <span style="color:#1F497D">booked</span></li><li>Hotel: to confirm</li></ul>
<blockquote style="border:none;border-left:solid #CCCCCC 1.0pt"><div><p class="MsoNormal"><b>From:</b> Kim Minjun
&lt;minjun.kim@gwangju.go.kr&gt;<br><b>Sent:</b> 09 July 2024 02:14</p></div><p>Dear Jo, who will speak?</p>
</blockquote><p class="MsoNormal">Kind regards,<br>Jo</p></div>
"#;

fn fill(unit: &str, size: usize) -> String {
    let mut s = String::with_capacity(size + unit.len());
    while s.len() < size {
        s.push_str(unit);
    }
    s
}

/// Seconds per MiB for sanitising and for rendering a mail's text.
fn cost(html: &str) -> (f64, f64) {
    let mib = html.len() as f64 / (1024.0 * 1024.0);
    let t = Instant::now();
    std::hint::black_box(sanitize_html(html));
    let sanitise = t.elapsed().as_secs_f64() / mib;
    let mail = format!("From: jo@leeds.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}");
    let t = Instant::now();
    std::hint::black_box(parse(mail.as_bytes(), &ParseOptions::default()).ok());
    let text = t.elapsed().as_secs_f64() / mib;
    (sanitise, text)
}

fn main() {
    let kib: usize = std::env::args().nth(1).map_or(1024, |a| a.parse().expect("SIZE_KIB"));
    let size = kib * 1024;
    let ordinary = fill(ORDINARY, size);
    // The best of three for the baseline.
    let base = (0..3).map(|_| cost(&ordinary)).fold((f64::MAX, f64::MAX), |a, b| (a.0.min(b.0), a.1.min(b.1)));
    println!(
        "input size {kib} KiB; ordinary mail: sanitise {:.1} ms/MiB, text {:.1} ms/MiB",
        base.0 * 1e3,
        base.1 * 1e3
    );

    let deep = "<span>".repeat(128);
    let mut attrs = String::new();
    for i in 0.. {
        if attrs.len() >= size {
            break;
        }
        attrs.push_str(&format!(" a{i}=v"));
    }
    let mut results: Vec<(String, f64, f64)> = Vec::new();
    for name in NAMES {
        let shapes = [
            ("unclosed", fill(&format!("<{name}>x"), size)),
            ("nested", fill(&format!("<{name}>"), size)),
            ("pairs-deep", format!("{deep}{}", fill(&format!("<{name}>x</{name}>"), size))),
            ("attributes", format!("<{name}{attrs}>x")),
        ];
        for (shape, input) in shapes {
            let (s, t) = cost(&input);
            results.push((format!("{shape} <{name}>"), s, t));
        }
    }
    results.sort_by(|a, b| (b.1 + b.2).total_cmp(&(a.1 + a.2)));
    println!("{:<32} {:>16} {:>16}", "input", "sanitise ms/MiB", "text ms/MiB");
    for (what, s, t) in results.iter().take(10) {
        println!("{what:<32} {:>16.1} {:>16.1}", s * 1e3, t * 1e3);
    }
    let worst_s = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let worst_t = results.iter().map(|r| r.2).fold(0.0, f64::max);
    println!(
        "worst over ordinary: sanitise {:.1}x, text {:.1}x ({} inputs)",
        worst_s / base.0,
        worst_t / base.1,
        results.len()
    );
}
