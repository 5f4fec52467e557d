//! HTML → plain text, and the HTML half of quote stripping.
//!
//! Mail HTML is tag soup. It is first made bounded and well-formed by [`super::bound`] (one
//! linear pass: kept elements only, each closed, `<script>`, `<style>`, `<title>` and comments
//! dropped, character references decoded, text escaped, attributes double-quoted, nesting and
//! counts limited), and that output is walked here with a small tokenizer. Both are linear in
//! their input, whatever it is; neither recurses.
//!
//! Rendering rules:
//! - block elements (`div`, `table`, `li`, `tr`, headings...) start and end lines; `<br>` ends a
//!   line; `<p>` is a paragraph (blank line around) except Outlook's `class="MsoNormal"`
//!   paragraphs, which are lines; whitespace collapses as in a browser, except in `<pre>`;
//!   `&nbsp;` becomes a plain space.
//! - `<blockquote>` lines are prefixed with `> ` (per level), so that the plain-text rules of
//!   [`super::quote`] see quoted text as quoted.
//! - list items get `- ` (or `1. ` in `<ol>`); table cells are separated by a space; images
//!   are dropped.
//! - a link renders as `text (url)` when the URL says something the text does not (compared
//!   without scheme, `mailto:`, `www.` and trailing `/`); `#anchors` and `cid:` are never shown.
//!
//! [`Mode::StripQuotes`] additionally leaves out:
//! - quoted history: Gmail's attribution `div.gmail_attr` and `blockquote.gmail_quote`,
//!   Thunderbird's `div.moz-cite-prefix` and `<blockquote type="cite">` (also Apple Mail),
//!   `div.yahoo_quoted`, `.protonmail_quote`; and everything from Outlook's
//!   `div#divRplyFwdMsg` (its header block, whose quoted message follows as siblings) or
//!   `#mail-editor-reference-message-container` to the end of the document;
//! - signature blocks: `.gmail_signature`, `.moz-signature`, Outlook's `div#Signature`.
//!
//! If the author wrote text *after* a left-out quote (an interleaved answer), the result says
//! `interleaved` and the caller keeps the full rendering instead, where quotes are `> ` lines.

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    /// Everything, blockquotes as `> ` lines.
    #[default]
    Full,
    /// Without quoted history and signature blocks (see the module docs).
    StripQuotes,
}

/// A rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Normalised text (see [`super::body::normalize`]), at most one blank line in a row.
    pub text: String,
    /// Quoted history was left out.
    pub cut: bool,
    /// Author text follows a left-out quote: the quotes were interleaved with answers.
    pub interleaved: bool,
}

/// Renders bounded HTML (what [`super::bound::bound`] makes of mail HTML) as text.
pub(crate) fn to_text(bounded: &str, mode: Mode) -> Rendered {
    let mut w = Walker { mode, ..Walker::default() };
    w.run(bounded);
    let text = super::body::normalize(&w.out.finish());
    Rendered { text, cut: w.cut, interleaved: w.interleaved }
}

const VOID: [&str; 14] =
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];
const BLOCK: [&str; 26] = [
    "address",
    "article",
    "aside",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "main",
    "nav",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "li",
    "hgroup",
];

/// What closing an element does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    Nothing,
    Newline,
    Blank,
    Quote,
    Pre,
    List,
    Anchor,
}

#[derive(Debug)]
struct Frame {
    name: String,
    close: Close,
    /// This element starts a left-out subtree.
    skip: bool,
}

#[derive(Debug, Default)]
struct Walker {
    mode: Mode,
    out: Out,
    stack: Vec<Frame>,
    /// Number of open left-out subtrees.
    skipping: usize,
    lists: Vec<Option<u32>>,
    anchors: Vec<(String, String)>,
    cut: bool,
    interleaved: bool,
    stop: bool,
}

impl Walker {
    fn run(&mut self, html: &str) {
        let bytes = html.as_bytes();
        let mut i = 0;
        while i < bytes.len() && !self.stop {
            if bytes.get(i) == Some(&b'<') {
                let mut j = i + 1;
                let mut quoted = false;
                while let Some(&b) = bytes.get(j) {
                    match b {
                        b'"' => quoted = !quoted,
                        b'>' if !quoted => break,
                        _ => {}
                    }
                    j += 1;
                }
                self.tag(html.get(i + 1..j).unwrap_or_default());
                i = j + 1;
            } else {
                let j =
                    bytes.get(i..).and_then(|rest| rest.iter().position(|b| *b == b'<')).map_or(bytes.len(), |p| i + p);
                self.text(&decode_entities(html.get(i..j).unwrap_or_default()));
                i = j;
            }
        }
    }

    fn text(&mut self, s: &str) {
        if self.skipping > 0 {
            return;
        }
        if let Some((_, capture)) = self.anchors.last_mut() {
            capture.push_str(s);
        }
        let emitted = self.out.text(s);
        if emitted && self.cut {
            self.interleaved = true;
        }
    }

    fn tag(&mut self, inner: &str) {
        if inner.starts_with('!') || inner.starts_with('?') {
            return;
        }
        if let Some(name) = inner.strip_prefix('/') {
            self.end(&name.trim().to_ascii_lowercase());
            return;
        }
        let inner = inner.strip_suffix('/').unwrap_or(inner);
        let name_end = inner.find(|c: char| c.is_ascii_whitespace()).unwrap_or(inner.len());
        let name = inner.get(..name_end).unwrap_or_default().to_ascii_lowercase();
        let attrs = inner.get(name_end..).unwrap_or_default();
        if name.is_empty() {
            return;
        }
        self.start(&name, attrs);
    }

    fn start(&mut self, name: &str, attrs: &str) {
        let is_void = VOID.contains(&name);
        if self.skipping > 0 {
            if !is_void {
                self.stack.push(Frame { name: name.to_string(), close: Close::Nothing, skip: false });
            }
            return;
        }
        if self.mode == Mode::StripQuotes {
            let class = attr(attrs, "class").unwrap_or_default().to_ascii_lowercase();
            let has_class = |c: &str| class.split_ascii_whitespace().any(|x| x == c);
            let id = attr(attrs, "id").unwrap_or_default().to_ascii_lowercase();
            if id == "divrplyfwdmsg" || id == "mail-editor-reference-message-container" {
                self.cut = true;
                self.stop = true;
                return;
            }
            let quote = has_class("gmail_attr")
                || (has_class("gmail_quote") && name == "blockquote")
                || has_class("moz-cite-prefix")
                || has_class("yahoo_quoted")
                || has_class("protonmail_quote")
                || (name == "blockquote" && attr(attrs, "type").is_some_and(|t| t.eq_ignore_ascii_case("cite")));
            let signature = has_class("gmail_signature") || has_class("moz-signature") || id == "signature";
            if (quote || signature) && !is_void {
                self.cut |= quote;
                self.skipping += 1;
                self.stack.push(Frame { name: name.to_string(), close: Close::Nothing, skip: true });
                return;
            }
        }
        let close = match name {
            "br" => {
                self.out.br();
                Close::Nothing
            }
            "hr" => {
                self.out.newline();
                Close::Nothing
            }
            "p" => {
                let mso = attr(attrs, "class").is_some_and(|c| c.to_ascii_lowercase().contains("msonormal"));
                if mso {
                    self.out.newline();
                    Close::Newline
                } else {
                    self.out.blank();
                    Close::Blank
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.out.blank();
                Close::Blank
            }
            "ul" | "ol" => {
                self.out.newline();
                self.lists.push((name == "ol").then_some(1));
                Close::List
            }
            "li" => {
                self.out.newline();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n = n.saturating_add(1);
                        m
                    }
                    _ => "- ".to_string(),
                };
                self.out.literal(&marker);
                Close::Newline
            }
            "blockquote" => {
                self.out.newline();
                self.out.depth += 1;
                Close::Quote
            }
            "pre" => {
                self.out.newline();
                self.out.pre += 1;
                Close::Pre
            }
            "td" | "th" => {
                self.out.separate();
                Close::Nothing
            }
            "a" => {
                self.anchors.push((attr(attrs, "href").unwrap_or_default(), String::new()));
                Close::Anchor
            }
            _ if BLOCK.contains(&name) => {
                self.out.newline();
                Close::Newline
            }
            _ => Close::Nothing,
        };
        if !is_void {
            self.stack.push(Frame { name: name.to_string(), close, skip: false });
        }
    }

    fn end(&mut self, name: &str) {
        let Some(pos) = self.stack.iter().rposition(|f| f.name == name) else { return };
        while self.stack.len() > pos {
            let Some(frame) = self.stack.pop() else { break };
            if frame.skip {
                self.skipping = self.skipping.saturating_sub(1);
                continue;
            }
            if self.skipping > 0 {
                continue;
            }
            match frame.close {
                Close::Nothing => {}
                Close::Newline => self.out.newline(),
                Close::Blank => self.out.blank(),
                Close::Quote => self.out.close_quote(),
                Close::Pre => {
                    self.out.newline();
                    self.out.pre = self.out.pre.saturating_sub(1);
                }
                Close::List => {
                    self.lists.pop();
                    self.out.newline();
                }
                Close::Anchor => {
                    if let Some((href, capture)) = self.anchors.pop()
                        && let Some(url) = link_suffix(&href, &capture)
                    {
                        self.out.text(&format!(" ({url})"));
                    }
                }
            }
        }
    }
}

/// The URL to show after a link's text, if it adds anything.
fn link_suffix(href: &str, text: &str) -> Option<String> {
    let href = href.trim();
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if href.is_empty() || text.is_empty() || href.starts_with('#') {
        return None;
    }
    // Only URLs a reader can follow: no `javascript:`, `data:`, `cid:` and the like.
    if let Some((scheme, _)) = href.split_once(':')
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !["http", "https", "mailto", "tel", "ftp"].iter().any(|s| scheme.eq_ignore_ascii_case(s))
    {
        return None;
    }
    let key = |s: &str| {
        let s = s.trim().to_lowercase();
        let s = ["mailto:", "tel:", "https://", "http://"]
            .iter()
            .fold(s, |s, p| s.strip_prefix(p).map(str::to_string).unwrap_or(s));
        let s = s.strip_prefix("www.").map(str::to_string).unwrap_or(s);
        s.trim_end_matches('/').to_string()
    };
    (key(href) != key(&text)).then(|| href.to_string())
}

/// The value of an attribute in a serialised start tag (`name="value"`), entities decoded.
fn attr(attrs: &str, wanted: &str) -> Option<String> {
    let bytes = attrs.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'=') {
            i += 1;
        }
        let name = attrs.get(start..i).unwrap_or_default();
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            if bytes.get(i) == Some(&b'"') {
                let vstart = i + 1;
                let vend = bytes
                    .get(vstart..)
                    .and_then(|r| r.iter().position(|b| *b == b'"'))
                    .map_or(bytes.len(), |p| vstart + p);
                value = attrs.get(vstart..vend).unwrap_or_default();
                i = vend + 1;
            } else {
                let vstart = i;
                while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                    i += 1;
                }
                value = attrs.get(vstart..i).unwrap_or_default();
            }
        }
        if name.eq_ignore_ascii_case(wanted) {
            return Some(decode_entities(value));
        }
        if i == start {
            i += 1;
        }
    }
    None
}

/// Decodes the entities html5ever's serialiser writes (and numeric ones); others stay as they
/// are.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(rest.get(..pos).unwrap_or_default());
        rest = rest.get(pos..).unwrap_or_default();
        let end = rest.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|end| {
            let name = rest.get(1..end)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = rest.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lines being written, each with the quote depth it started at.
#[derive(Debug, Default)]
struct Out {
    lines: Vec<(usize, String)>,
    cur: String,
    cur_depth: usize,
    depth: usize,
    pre: usize,
    space: bool,
}

impl Out {
    /// Appends text with browser whitespace rules; true if something visible was written.
    fn text(&mut self, s: &str) -> bool {
        let mut emitted = false;
        for c in s.chars() {
            if self.pre > 0 {
                match c {
                    '\n' => self.br(),
                    '\r' => {}
                    _ => emitted |= self.push(c),
                }
                continue;
            }
            match c {
                ' ' | '\t' | '\n' | '\r' | '\x0c' => self.space = !self.cur.is_empty(),
                '\u{200b}' | '\u{feff}' => {}
                '\u{a0}' => {
                    self.push(' ');
                }
                c => {
                    if self.space {
                        self.push(' ');
                    }
                    emitted |= self.push(c);
                }
            }
        }
        emitted
    }

    /// Appends text as is (list markers).
    fn literal(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    fn push(&mut self, c: char) -> bool {
        if self.cur.is_empty() {
            self.cur_depth = self.depth;
        }
        self.cur.push(c);
        self.space = false;
        !c.is_whitespace()
    }

    /// A table cell boundary: a space if the line has something.
    fn separate(&mut self) {
        self.space = !self.cur.is_empty();
    }

    /// Ends the current line if it has something.
    fn newline(&mut self) {
        if !self.cur.is_empty() {
            self.flush();
        }
        self.space = false;
    }

    /// Ends the current line, even empty (`<br>`).
    fn br(&mut self) {
        self.flush();
        self.space = false;
    }

    /// Ends the current line and makes sure a blank line follows the text so far; at a quote
    /// boundary the blank line belongs to the outer level.
    fn blank(&mut self) {
        self.newline();
        if let Some((d, last)) = self.lines.last()
            && !last.trim().is_empty()
        {
            let d = (*d).min(self.depth);
            self.lines.push((d, String::new()));
        }
    }

    /// Leaves one blockquote level, dropping the blank lines that ended it.
    fn close_quote(&mut self) {
        self.newline();
        while self.lines.last().is_some_and(|(d, l)| *d == self.depth && self.depth > 0 && l.trim().is_empty()) {
            self.lines.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn flush(&mut self) {
        if self.cur.is_empty() {
            self.cur_depth = self.depth;
        }
        let line = std::mem::take(&mut self.cur);
        self.lines.push((self.cur_depth, line));
    }

    /// The text, with at most one blank line in a row (per quote level).
    fn finish(mut self) -> String {
        self.newline();
        let mut out: Vec<String> = Vec::with_capacity(self.lines.len());
        let mut last_blank: Option<usize> = Some(0);
        for (d, line) in &self.lines {
            let blank = line.trim().is_empty();
            if blank && last_blank == Some(*d) {
                continue;
            }
            last_blank = blank.then_some(*d);
            let mut s = ">".repeat(*d);
            if *d > 0 && !blank {
                s.push(' ');
            }
            s.push_str(line.trim_end());
            out.push(s);
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(html: &str) -> String {
        to_text(&bounded(html), Mode::Full).text
    }

    fn bounded(html: &str) -> String {
        super::super::bound::bound(html).html
    }

    #[test]
    fn blocks_and_breaks() {
        assert_eq!(full("<div>a</div><div>b<br>c</div><p>para</p><p>two</p>"), "a\nb\nc\n\npara\n\ntwo");
        assert_eq!(
            full(
                "<p class=MsoNormal>one<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>two</p>"
            ),
            "one\n\ntwo"
        );
        assert_eq!(full("<ul><li>x</li><li>y</li></ul><ol><li>z</li></ol>"), "- x\n- y\n1. z");
        assert_eq!(full("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>"), "1 2\n3");
        assert_eq!(full("<pre>a  b\n  c</pre>"), "a  b\n  c");
    }

    #[test]
    fn entities_and_dropped_content() {
        assert_eq!(
            full(
                "<head><title>T</title><style>p{}</style></head><body>a &amp; b &lt;c&gt; &#x4f60;&#22909;<script>x()</script></body>"
            ),
            "a & b <c> 你好"
        );
    }

    #[test]
    fn links() {
        assert_eq!(full(r#"<a href="https://leeds.gov.uk/">leeds.gov.uk</a>"#), "leeds.gov.uk");
        assert_eq!(full(r#"<a href="https://x.org/agenda">the agenda</a>."#), "the agenda (https://x.org/agenda).");
        assert_eq!(full(r#"<a href="mailto:jo@x.org">jo@x.org</a>"#), "jo@x.org");
        assert_eq!(full(r#"<a href="javascript:alert(1)">click</a>"#), "click");
    }

    #[test]
    fn blockquotes_are_quoted() {
        assert_eq!(
            full("<div>answer</div><blockquote type=cite><div>old</div><blockquote>older</blockquote></blockquote>"),
            "answer\n> old\n>> older"
        );
        assert_eq!(
            full("<p>On x wrote:</p><blockquote type=cite><p>q1</p><p>q2</p></blockquote><p>answer</p>"),
            "On x wrote:\n\n> q1\n>\n> q2\n\nanswer"
        );
    }

    #[test]
    fn gmail_quote_is_stripped() {
        let html = r#"<div dir="ltr">Thanks!</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jo wrote:<br></div><blockquote class="gmail_quote" style="margin:0">old</blockquote></div>"#;
        let r = to_text(&bounded(html), Mode::StripQuotes);
        assert_eq!((r.text.as_str(), r.cut, r.interleaved), ("Thanks!", true, false));
    }

    #[test]
    fn interleaved_is_detected() {
        let html = "<blockquote type=cite>q1</blockquote><div>a1</div><blockquote type=cite>q2</blockquote>";
        let r = to_text(&bounded(html), Mode::StripQuotes);
        assert!(r.cut && r.interleaved);
    }

    #[test]
    fn outlook_cuts_to_end() {
        let html = r#"<div>New</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> X</div><div>old body</div>"#;
        let r = to_text(&bounded(html), Mode::StripQuotes);
        assert_eq!((r.text.as_str(), r.cut, r.interleaved), ("New", true, false));
    }

    #[test]
    fn tokenizer_survives_junk() {
        for junk in ["<", "<<>>", "<a href=\"", "&#xFFFFFFFF;", "&#55296;", "<div class=\"a\"b>", "</p></p>"] {
            let _ = to_text(&super::super::bound::bound(junk).html, Mode::StripQuotes);
            let _ = to_text(junk, Mode::StripQuotes);
            let _ = decode_entities(junk);
            let _ = attr(junk, "href");
        }
    }
}
