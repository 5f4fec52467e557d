//! Bounded HTML: one linear pass that turns any HTML into small, well-formed HTML that every
//! later step handles in time linear in its input (html5ever inside ammonia, which sanitises
//! relayed HTML; the text walker in `html.rs`).
//!
//! Why a pass of our own: html5ever's costs are not linear in its input. The tree builder walks
//! the stack of open elements for most tags, so it is quadratic in the nesting depth, and some
//! elements (ruby annotations, select-list elements...) nest without limit where no rule closes
//! them; the tokenizer compares each attribute with every earlier one of its tag (quadratic in
//! attributes per tag); formatting elements it closes implicitly are opened again for later
//! text. A list of dangerous tags cannot be complete; limits on what html5ever is given can, so
//! html5ever never sees the input itself, only this pass's output.
//!
//! [`bound`] reads the input once, left to right, without backtracking:
//! - It tokenises as the HTML standard does for what mail contains: start and end tags with
//!   quoted or unquoted attributes, comments, doctypes and `<?...>` (dropped), a `<` that starts
//!   no tag (text). The content of `script`, `style` and `title` is dropped; that of `textarea`,
//!   `xmp`, `iframe`, `noembed`, `noframes`, `noscript` and `plaintext` is text.
//! - It keeps only the elements ammonia keeps by default ([`ELEMENTS`]) and of their attributes
//!   only [`ATTRIBUTES`]; other tags are dropped, their text kept.
//! - It decodes character references (all named ones, numeric ones) in text and attribute
//!   values, and writes text escaped (`&amp;`, `&lt;`, `&gt;`) and every attribute value
//!   double-quoted.
//! - Every element it opens is closed, in order: where browsers close one implicitly it does so
//!   in the common cases (a block closes an open `p`; `li`, `dd`/`dt`, table cells, rows and
//!   sections close the previous one; a heading closes a heading; `a` closes an open `a`), and
//!   what is open at the end is closed there. An end tag for nothing open is dropped.
//! - A remote image (`<img src="http…">`, `https…`, `//…`) becomes a link to it with its alt
//!   text, `<a href="SRC">[image: ALT]</a>` (just the text inside another link or over a
//!   limit): relayed mail must not load a sender's tracking pixel when it is opened.
//! - Limits ([`Limits`]): elements nest at most `depth` deep, at most `formatting` formatting
//!   elements are open at once, at most `elements` elements in all, at most `attributes`
//!   attributes per element and `attribute_bytes` of their values. A tag over a limit is
//!   dropped (its text is kept) and counted in [`Bounded::dropped`].
//!
//! Every step is constant time per byte or per tag except closing elements, which costs one
//! step per element closed (each element is closed once). So the output is at most a constant
//! factor larger than the input, and html5ever's per-tag work on it is bounded by the depth
//! limit.

use std::collections::HashMap;

/// The limits [`bound`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub depth: usize,
    pub formatting: usize,
    pub elements: usize,
    pub attributes: usize,
    pub attribute_bytes: usize,
}

/// Real mail stays far below these: Outlook's and Apple Mail's HTML nests a dozen deep, a Gmail
/// thread adds four levels per quoted reply, newsletters' nested tables a few dozen.
pub const LIMITS: Limits =
    Limits { depth: 128, formatting: 12, elements: 100_000, attributes: 16, attribute_bytes: 8192 };

/// What [`bound`] made of some HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounded {
    /// Well-formed HTML: kept elements only, each closed; text and attribute values escaped.
    pub html: String,
    /// Tags dropped because a limit was reached.
    pub dropped: usize,
}

const VOID: u8 = 1;
/// "Special" in the HTML standard's sense: an implicit close does not look past it.
const SPECIAL: u8 = 2;
/// Its start tag closes an open `p` (in button scope).
const CLOSES_P: u8 = 4;
const FORMATTING: u8 = 8;
/// A boundary of the "button scope" a `p` is looked for in.
const SCOPE: u8 = 16;
const HEADING: u8 = 32;

/// The elements kept (ammonia's default list, plus `tfoot`), sorted by name, with what the tree
/// builder does with them.
pub const ELEMENTS: &[(&str, u8)] = &[
    ("a", FORMATTING),
    ("abbr", 0),
    ("acronym", 0),
    ("area", VOID | SPECIAL),
    ("article", SPECIAL | CLOSES_P),
    ("aside", SPECIAL | CLOSES_P),
    ("b", FORMATTING),
    ("bdi", 0),
    ("bdo", 0),
    ("blockquote", SPECIAL | CLOSES_P),
    ("br", VOID | SPECIAL),
    ("caption", SPECIAL | SCOPE),
    ("center", SPECIAL | CLOSES_P),
    ("cite", 0),
    ("code", FORMATTING),
    ("col", VOID | SPECIAL),
    ("colgroup", SPECIAL),
    ("data", 0),
    ("dd", SPECIAL | CLOSES_P),
    ("del", 0),
    ("details", SPECIAL | CLOSES_P),
    ("dfn", 0),
    ("div", SPECIAL | CLOSES_P),
    ("dl", SPECIAL | CLOSES_P),
    ("dt", SPECIAL | CLOSES_P),
    ("em", FORMATTING),
    ("figcaption", SPECIAL | CLOSES_P),
    ("figure", SPECIAL | CLOSES_P),
    ("footer", SPECIAL | CLOSES_P),
    ("h1", SPECIAL | CLOSES_P | HEADING),
    ("h2", SPECIAL | CLOSES_P | HEADING),
    ("h3", SPECIAL | CLOSES_P | HEADING),
    ("h4", SPECIAL | CLOSES_P | HEADING),
    ("h5", SPECIAL | CLOSES_P | HEADING),
    ("h6", SPECIAL | CLOSES_P | HEADING),
    ("header", SPECIAL | CLOSES_P),
    ("hgroup", SPECIAL | CLOSES_P),
    ("hr", VOID | SPECIAL | CLOSES_P),
    ("i", FORMATTING),
    ("img", VOID | SPECIAL),
    ("ins", 0),
    ("kbd", 0),
    ("li", SPECIAL | CLOSES_P),
    ("map", 0),
    ("mark", 0),
    ("nav", SPECIAL | CLOSES_P),
    ("ol", SPECIAL | CLOSES_P),
    ("p", SPECIAL | CLOSES_P),
    ("pre", SPECIAL | CLOSES_P),
    ("q", 0),
    ("rp", 0),
    ("rt", 0),
    ("rtc", 0),
    ("ruby", 0),
    ("s", FORMATTING),
    ("samp", 0),
    ("small", FORMATTING),
    ("span", 0),
    ("strike", FORMATTING),
    ("strong", FORMATTING),
    ("sub", 0),
    ("summary", SPECIAL | CLOSES_P),
    ("sup", 0),
    ("table", SPECIAL | CLOSES_P | SCOPE),
    ("tbody", SPECIAL),
    ("td", SPECIAL | SCOPE),
    ("tfoot", SPECIAL),
    ("th", SPECIAL | SCOPE),
    ("thead", SPECIAL),
    ("time", 0),
    ("tr", SPECIAL),
    ("tt", FORMATTING),
    ("u", FORMATTING),
    ("ul", SPECIAL | CLOSES_P),
    ("var", 0),
    ("wbr", VOID),
];

/// The attributes kept (those ammonia may keep, and `class`, `id` and `type`, which the text
/// walker reads to find quoted history).
pub const ATTRIBUTES: &[&str] = &[
    "abbr", "align", "alt", "axis", "char", "charoff", "cite", "class", "colspan", "datetime", "dir", "headers",
    "height", "href", "hreflang", "id", "lang", "rowspan", "scope", "size", "span", "src", "start", "summary", "title",
    "type", "width",
];

/// Elements whose content is not markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// Dropped with its content.
    Drop,
    /// Its content is text; character references are decoded.
    Rcdata,
    /// Its content is text, as written.
    Rawtext,
    /// Everything after it is text, as written.
    Plaintext,
}

fn raw_kind(name: &str) -> Option<Raw> {
    Some(match name {
        "script" | "style" | "title" => Raw::Drop,
        "textarea" => Raw::Rcdata,
        "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Raw::Rawtext,
        "plaintext" => Raw::Plaintext,
        _ => return None,
    })
}

fn element(name: &str) -> Option<(&'static str, u8)> {
    // A binary search over a sorted list: constant for this list's size.
    ELEMENTS.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| ELEMENTS[i])
}

/// One open element, with what implicit closes need to find below it without a walk.
#[derive(Debug, Clone, Copy)]
struct Frame {
    name: &'static str,
    flags: u8,
    /// Index of the nearest `p` in button scope (this frame included).
    p: Option<usize>,
    /// Index of the nearest `li`, and of the nearest `dd`/`dt`, that a new one closes.
    li: Option<usize>,
    dd: Option<usize>,
    /// Index of the nearest cell, row and table section within the current table.
    cell: Option<usize>,
    row: Option<usize>,
    section: Option<usize>,
    /// Index of the nearest `a` not behind a table cell or caption.
    a: Option<usize>,
}

/// Turn `html` into bounded HTML (see the module docs) under [`LIMITS`].
pub fn bound(html: &str) -> Bounded {
    bound_with(html, LIMITS)
}

/// [`bound`] under other limits.
pub fn bound_with(html: &str, limits: Limits) -> Bounded {
    let mut w = Writer {
        limits,
        out: String::with_capacity(html.len() + 64),
        stack: Vec::new(),
        open: HashMap::new(),
        skipped: HashMap::new(),
        formatting: 0,
        elements: 0,
        dropped: 0,
    };
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(lt) = memchr(b'<', b, i) else {
            w.text(&html[i..], true);
            break;
        };
        if lt > i {
            w.text(&html[i..lt], true);
        }
        i = lt;
        match b.get(i + 1) {
            Some(b'!') => {
                i = if b[i..].starts_with(b"<!--") {
                    // `<!-->` and `<!--->` are empty comments; otherwise up to `-->` (or the end).
                    let body = i + 4;
                    if b.get(body) == Some(&b'>') {
                        body + 1
                    } else if b.get(body..body + 2) == Some(b"->") {
                        body + 2
                    } else {
                        find(b"-->", b, body).map_or(b.len(), |p| p + 3)
                    }
                } else {
                    memchr(b'>', b, i).map_or(b.len(), |p| p + 1)
                };
            }
            Some(b'?') => i = memchr(b'>', b, i).map_or(b.len(), |p| p + 1),
            Some(b'/') => match b.get(i + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let tag = read_tag(html, i + 2, false, &w.limits);
                    i = tag.end;
                    if tag.complete {
                        w.end_tag(&tag.name);
                    }
                }
                Some(b'>') => i += 3,
                None => {
                    w.text("</", false);
                    i = b.len();
                }
                _ => i = memchr(b'>', b, i).map_or(b.len(), |p| p + 1),
            },
            Some(c) if c.is_ascii_alphabetic() => {
                let tag = read_tag(html, i + 1, true, &w.limits);
                i = tag.end;
                if !tag.complete {
                    // A tag cut off by the end of the input is dropped (as browsers do).
                    break;
                }
                match raw_kind(&tag.name) {
                    Some(Raw::Plaintext) => {
                        w.text(&html[i..], false);
                        i = b.len();
                    }
                    Some(kind) => {
                        let end = raw_end(b, i, &tag.name);
                        match kind {
                            Raw::Rcdata => w.text(&html[i..end.0], true),
                            Raw::Rawtext => w.text(&html[i..end.0], false),
                            Raw::Drop | Raw::Plaintext => {}
                        }
                        i = end.1;
                    }
                    None => w.start_tag(&tag),
                }
            }
            _ => {
                w.text("<", false);
                i += 1;
            }
        }
    }
    w.close_all();
    Bounded { html: w.out, dropped: w.dropped }
}

/// Whether an image source is fetched from elsewhere when the mail is shown.
fn is_remote(src: &str) -> bool {
    let lower = src.get(..8).unwrap_or(src).to_ascii_lowercase();
    lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")
}

#[derive(Debug)]
struct Writer {
    limits: Limits,
    out: String,
    stack: Vec<Frame>,
    /// Open elements by name, so an end tag for nothing open costs no walk.
    open: HashMap<&'static str, usize>,
    /// Start tags dropped for a limit, by name: their end tags are dropped too.
    skipped: HashMap<&'static str, usize>,
    formatting: usize,
    elements: usize,
    dropped: usize,
}

impl Writer {
    /// Append text; `decode` decodes character references first.
    fn text(&mut self, s: &str, decode: bool) {
        if decode && s.contains('&') {
            let decoded = decode_references(s, false);
            escape(&mut self.out, &decoded, false);
        } else {
            escape(&mut self.out, s, false);
        }
    }

    fn start_tag(&mut self, tag: &Tag) {
        let Some((name, flags)) = element(&tag.name) else { return };
        // Implicit closes first, as the tree builder would do them, repeated until none applies
        // (each pass closes at least one element), so that bounding the output again finds
        // nothing more to close.
        loop {
            let before = self.stack.len();
            if flags & CLOSES_P != 0 {
                self.close_to(self.top().and_then(|f| f.p));
            }
            let same_kind = match name {
                "li" => self.top().and_then(|f| f.li),
                "dd" | "dt" => self.top().and_then(|f| f.dd),
                "td" | "th" => self.top().and_then(|f| f.cell),
                "tr" => self.top().and_then(|f| f.row),
                "tbody" | "thead" | "tfoot" => self.top().and_then(|f| f.section),
                "a" => self.top().and_then(|f| f.a),
                _ => None,
            };
            self.close_to(same_kind);
            if flags & HEADING != 0 && self.top().is_some_and(|f| f.flags & HEADING != 0) {
                self.close_to(Some(self.stack.len() - 1));
            }
            if self.stack.len() == before {
                break;
            }
        }
        if name == "img"
            && let Some(src) = tag.attributes.iter().find(|(a, _)| *a == "src").map(|(_, v)| v.trim())
            && is_remote(src)
        {
            self.remote_image(src, tag);
            return;
        }
        let void = flags & VOID != 0;
        let over = self.elements >= self.limits.elements
            || (!void && self.stack.len() >= self.limits.depth)
            || (flags & FORMATTING != 0 && self.formatting >= self.limits.formatting);
        if over {
            self.dropped += 1;
            if !void {
                *self.skipped.entry(name).or_default() += 1;
            }
            return;
        }
        self.elements += 1;
        self.out.push('<');
        self.out.push_str(name);
        for (attr, value) in &tag.attributes {
            self.out.push(' ');
            self.out.push_str(attr);
            self.out.push_str("=\"");
            escape(&mut self.out, value, true);
            self.out.push('"');
        }
        self.out.push('>');
        if void {
            return;
        }
        let at = self.stack.len();
        let below = self.top().copied();
        let inherit = |own: bool, stop: bool, get: fn(&Frame) -> Option<usize>| {
            if own {
                Some(at)
            } else if stop {
                None
            } else {
                below.as_ref().and_then(get)
            }
        };
        let special = flags & SPECIAL != 0;
        let li_stop = special && !matches!(name, "div" | "p");
        let table = name == "table";
        let cell = matches!(name, "td" | "th");
        let frame = Frame {
            name,
            flags,
            p: inherit(name == "p", flags & SCOPE != 0, |f| f.p),
            li: inherit(name == "li", li_stop, |f| f.li),
            dd: inherit(matches!(name, "dd" | "dt"), li_stop, |f| f.dd),
            cell: inherit(cell, table, |f| f.cell),
            row: inherit(name == "tr", table, |f| f.row),
            section: inherit(matches!(name, "tbody" | "thead" | "tfoot"), table, |f| f.section),
            a: inherit(name == "a", cell || name == "caption", |f| f.a),
        };
        self.stack.push(frame);
        *self.open.entry(name).or_default() += 1;
        if flags & FORMATTING != 0 {
            self.formatting += 1;
        }
    }

    /// A link to a remote image instead of the image, under the same rules and limits as an
    /// `a` start tag would be (so bounding the output again changes nothing).
    fn remote_image(&mut self, src: &str, tag: &Tag) {
        let alt = tag.attributes.iter().find(|(a, v)| *a == "alt" && !v.trim().is_empty()).map(|(_, v)| v.trim());
        let label = format!("[image: {}]", alt.unwrap_or("remote image"));
        let a_flags = element("a").map_or(0, |(_, f)| f);
        let fits = self.top().and_then(|f| f.a).is_none()
            && self.elements < self.limits.elements
            && self.stack.len() < self.limits.depth
            && (a_flags & FORMATTING == 0 || self.formatting < self.limits.formatting);
        if !fits {
            escape(&mut self.out, &label, false);
            return;
        }
        self.elements += 1;
        self.out.push_str("<a href=\"");
        escape(&mut self.out, src, true);
        self.out.push_str("\">");
        escape(&mut self.out, &label, false);
        self.out.push_str("</a>");
    }

    fn end_tag(&mut self, name: &str) {
        let Some((name, _)) = element(name) else { return };
        if let Some(n) = self.skipped.get_mut(name)
            && *n > 0
        {
            *n -= 1;
            return;
        }
        if self.open.get(name).copied().unwrap_or(0) == 0 {
            return;
        }
        // Found within the elements it closes: one step per element closed.
        let at = self.stack.iter().rposition(|f| f.name == name);
        self.close_to(at);
    }

    fn top(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// Close the element at `at` and everything opened after it.
    fn close_to(&mut self, at: Option<usize>) {
        let Some(at) = at else { return };
        while self.stack.len() > at {
            let Some(f) = self.stack.pop() else { break };
            self.out.push_str("</");
            self.out.push_str(f.name);
            self.out.push('>');
            if let Some(n) = self.open.get_mut(f.name) {
                *n -= 1;
            }
            if f.flags & FORMATTING != 0 {
                self.formatting -= 1;
            }
        }
    }

    fn close_all(&mut self) {
        self.close_to(Some(0));
    }
}

/// A tag as read from the input.
#[derive(Debug)]
struct Tag {
    /// Lowercase ASCII.
    name: String,
    /// Kept attributes: lowercase names, decoded values.
    attributes: Vec<(&'static str, String)>,
    /// Just past the tag.
    end: usize,
    /// The tag ended with `>` (not with the input).
    complete: bool,
}

/// Read a tag whose name starts at `at`: its name, then attributes up to `>`. Attributes of end
/// tags are read (to find the tag's end) and dropped.
fn read_tag(html: &str, at: usize, keep: bool, limits: &Limits) -> Tag {
    let b = html.as_bytes();
    let mut i = at;
    while i < b.len() && !matches!(b[i], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>') {
        i += 1;
    }
    let mut tag = Tag { name: html[at..i].to_ascii_lowercase(), attributes: Vec::new(), end: b.len(), complete: false };
    let mut bytes = 0;
    loop {
        while i < b.len() && matches!(b[i], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return tag,
            Some(b'>') => {
                tag.end = i + 1;
                tag.complete = true;
                return tag;
            }
            _ => {}
        }
        // The name: up to whitespace, `/`, `>` or `=` (a leading `=` belongs to the name).
        let start = i;
        i += 1;
        while i < b.len() && !matches!(b[i], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = &html[start..i];
        let mut j = i;
        while j < b.len() && matches!(b[j], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ') {
            j += 1;
        }
        let mut value = None;
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && matches!(b[j], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ') {
                j += 1;
            }
            match b.get(j) {
                Some(&q @ (b'"' | b'\'')) => {
                    let vstart = j + 1;
                    let Some(vend) = memchr(q, b, vstart) else { return tag };
                    value = Some(&html[vstart..vend]);
                    i = vend + 1;
                }
                Some(b'>') | None => {
                    value = Some("");
                    i = j;
                }
                Some(_) => {
                    let vstart = j;
                    while j < b.len() && !matches!(b[j], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'>') {
                        j += 1;
                    }
                    value = Some(&html[vstart..j]);
                    i = j;
                }
            }
        }
        if !keep || tag.attributes.len() >= limits.attributes {
            continue;
        }
        let Some(kept) = ATTRIBUTES.iter().find(|a| a.eq_ignore_ascii_case(name)) else { continue };
        if tag.attributes.iter().any(|(a, _)| a == kept) {
            continue;
        }
        // Measured decoded, as it is kept (so bounding the output again keeps the same).
        let value = decode_references(value.unwrap_or(""), true);
        if bytes + value.len() > limits.attribute_bytes {
            continue;
        }
        bytes += value.len();
        tag.attributes.push((kept, value));
    }
}

/// Where the content of raw-text element `name` starting at `from` ends: (content end, just
/// past the end tag). Without an end tag the content runs to the end of the input.
fn raw_end(b: &[u8], from: usize, name: &str) -> (usize, usize) {
    let mut i = from;
    while let Some(lt) = find(b"</", b, i) {
        let n = lt + 2;
        let after = n + name.len();
        if b.get(n..after).is_some_and(|t| t.eq_ignore_ascii_case(name.as_bytes()))
            && b.get(after).is_none_or(|c| matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
        {
            let end = memchr(b'>', b, after).map_or(b.len(), |p| p + 1);
            return (lt, end);
        }
        i = lt + 2;
    }
    (b.len(), b.len())
}

fn memchr(needle: u8, b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?.iter().position(|c| *c == needle).map(|p| from + p)
}

/// The first `needle` (2 or 3 bytes, starting with a byte that does not recur in it) at or after `from`.
fn find(needle: &[u8], b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memchr(needle[0], b, i) {
        if b.get(p..p + needle.len()) == Some(needle) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// Write `s` as HTML text, or (`in_attribute`) as a double-quoted attribute value. Line ends
/// become `\n` (as the HTML standard's input stream does); NUL is dropped.
fn escape(out: &mut String, s: &str, in_attribute: bool) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.push('\n'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\0' => {}
            c => out.push(c),
        }
    }
}

/// Decode character references as the HTML standard does: `&#N;`, `&#xN;`, and named ones (the
/// longest name the table knows; a few legacy ones without `;`). In attribute values a legacy
/// name without `;` followed by `=` or an alphanumeric is left as written. Each `&` costs at most
/// the length of the longest name.
pub(crate) fn decode_references(s: &str, in_attribute: bool) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(amp) = memchr(b'&', b, i) {
        out.push_str(&s[i..amp]);
        i = amp + 1;
        if b.get(i) == Some(&b'#') {
            let hex = matches!(b.get(i + 1), Some(b'x' | b'X'));
            let digits_start = if hex { i + 2 } else { i + 1 };
            let mut j = digits_start;
            let mut code: u32 = 0;
            while let Some(&c) = b.get(j) {
                let d = match (hex, c) {
                    (_, b'0'..=b'9') => u32::from(c - b'0'),
                    (true, b'a'..=b'f') => u32::from(c - b'a' + 10),
                    (true, b'A'..=b'F') => u32::from(c - b'A' + 10),
                    _ => break,
                };
                code = code.saturating_mul(if hex { 16 } else { 10 }).saturating_add(d);
                j += 1;
            }
            if j == digits_start {
                out.push('&');
                continue;
            }
            if b.get(j) == Some(&b';') {
                j += 1;
            }
            out.push(numeric_reference(code));
            i = j;
            continue;
        }
        // Named: the longest prefix of up to 32 alphanumerics (and a `;`) the table knows.
        let mut j = i;
        while j < b.len() && j - i < 32 && b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        let with_semicolon = b.get(j) == Some(&b';');
        let mut found = None;
        if with_semicolon && let Some(&(a, c)) = markup5ever::data::NAMED_ENTITIES.get(&s[i..=j]) {
            found = Some((j + 1, a, c));
        }
        if found.is_none() {
            // Legacy names without `;` (`&amp`, `&nbsp`...): the longest that matches.
            let mut k = j;
            while k > i {
                if let Some(&(a, c)) = markup5ever::data::NAMED_ENTITIES.get(&s[i..k])
                    && a != 0
                {
                    found = Some((k, a, c));
                    break;
                }
                k -= 1;
            }
            if let Some((k, ..)) = found
                && in_attribute
                && b.get(k).is_some_and(|c| *c == b'=' || c.is_ascii_alphanumeric())
            {
                found = None;
            }
        }
        match found {
            Some((end, a, c)) => {
                out.extend(char::from_u32(a));
                if c != 0 {
                    out.extend(char::from_u32(c));
                }
                i = end;
            }
            None => out.push('&'),
        }
    }
    out.push_str(&s[i..]);
    out
}

/// The character a numeric reference stands for (the standard's replacements for 0, surrogates,
/// out-of-range values and the C1 controls Windows-1252 uses).
fn numeric_reference(code: u32) -> char {
    match code {
        0 | 0xD800..=0xDFFF => '\u{fffd}',
        0x80..=0x9F => markup5ever::data::C1_REPLACEMENTS[(code - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(code).unwrap_or('\u{fffd}')),
        _ => char::from_u32(code).unwrap_or('\u{fffd}'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(html: &str) -> String {
        bound(html).html
    }

    #[test]
    fn the_element_list_is_sorted() {
        assert!(ELEMENTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ELEMENTS.iter().all(|(n, _)| element(n).is_some()));
    }

    #[test]
    fn elements_are_kept_closed_and_in_order() {
        assert_eq!(b("<div>a<b>b</div>c"), "<div>a<b>b</b></div>c");
        assert_eq!(b("<p>one<p>two"), "<p>one</p><p>two</p>");
        assert_eq!(b("<p>x<div>y</div>"), "<p>x</p><div>y</div>");
        assert_eq!(b("<ul><li>a<li>b<li><span>c</ul>"), "<ul><li>a</li><li>b</li><li><span>c</span></li></ul>");
        assert_eq!(
            b("<table><tr><td>1<td>2<tr><td>3</table>"),
            "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>"
        );
        assert_eq!(b("<a href=x>1<a href=y>2</a>"), "<a href=\"x\">1</a><a href=\"y\">2</a>");
        assert_eq!(b("<h1>a<h2>b</h2>"), "<h1>a</h1><h2>b</h2>");
        assert_eq!(b("</div></b>text<br/><img src=a.png>"), "text<br><img src=\"a.png\">");
        assert_eq!(
            b("<p>Hi<img src=\"https://t.example/p.gif?u=jo&amp;x=1\" alt=\"\" width=1></p>"),
            "<p>Hi<a href=\"https://t.example/p.gif?u=jo&amp;x=1\">[image: remote image]</a></p>"
        );
        assert_eq!(b("<img src=//cdn.example/a.png alt=Map>"), "<a href=\"//cdn.example/a.png\">[image: Map]</a>");
        assert_eq!(b("<a href=x><img src=HTTP://t.example/p alt=Logo></a>"), "<a href=\"x\">[image: Logo]</a>");
        assert_eq!(b("<img src=cid:logo@x>"), "<img src=\"cid:logo@x\">");
    }

    #[test]
    fn unknown_and_raw_elements() {
        assert_eq!(
            b(
                "<html><head><title>T</title><style>p{}</style></head><body><o:p>x</o:p><script>if (a<b) x()</script></body>"
            ),
            "x"
        );
        assert_eq!(b("<textarea><b>&amp;</b></textarea>"), "&lt;b&gt;&amp;&lt;/b&gt;");
        assert_eq!(b("<xmp><b>&amp;</b></xmp>"), "&lt;b&gt;&amp;amp;&lt;/b&gt;");
        assert_eq!(b("<SCRIPT>x</script >after"), "after");
        assert_eq!(b("<plaintext><b>x"), "&lt;b&gt;x");
        assert_eq!(b("<!-- <b>no</b> -->yes<!--->!<!doctype html><?php x ?>"), "yes!");
    }

    #[test]
    fn attributes_are_filtered_decoded_and_quoted() {
        assert_eq!(
            b(r#"<a HREF='https://x.org/?a=1&amp;b=2' onclick="x()" title=t"q>l</a>"#),
            r#"<a href="https://x.org/?a=1&amp;b=2" title="t&quot;q">l</a>"#
        );
        assert_eq!(b("<div class=a class=b id=c>x</div>"), "<div class=\"a\" id=\"c\">x</div>");
        assert_eq!(b("<a href=\"?x=1&copy=2\">l</a>"), "<a href=\"?x=1&amp;copy=2\">l</a>");
    }

    #[test]
    fn references_are_decoded() {
        assert_eq!(
            decode_references("a &amp; b &rsquo;&eacute &#x4f60;&#22909; &nope; &#0; &#x80;", false),
            "a & b ’é 你好 &nope; \u{fffd} €"
        );
        assert_eq!(decode_references("&notit; &", false), "¬it; &");
    }

    #[test]
    fn stray_and_cut_off_markup() {
        assert_eq!(b("a < b and c<3"), "a &lt; b and c&lt;3");
        assert_eq!(b("x<div class=\"unterminated"), "x");
        assert_eq!(b("x</"), "x&lt;/");
        assert_eq!(b("x<span"), "x");
        assert_eq!(b("<b>bold</>"), "<b>bold</b>");
    }

    #[test]
    fn limits_hold_for_any_nesting() {
        let deep = bound(&"<div>".repeat(100_000));
        assert_eq!(deep.html, "<div>".repeat(LIMITS.depth) + &"</div>".repeat(LIMITS.depth));
        assert_eq!(deep.dropped, 100_000 - LIMITS.depth);
        // Elements no rule closes.
        for tag in ["rt", "span", "q", "ruby", "b", "em", "a"] {
            let out = bound(&format!("<{tag}>x").repeat(10_000));
            let opened = out.html.matches(&format!("<{tag}>")).count();
            assert!(opened <= 10_000 && out.html.len() < 10 * 10_000 * (tag.len() + 3), "{tag}");
            let depth = out.html.split(&format!("</{tag}>")).next().unwrap().matches(&format!("<{tag}>")).count();
            assert!(depth <= LIMITS.depth, "{tag}: {depth}");
        }
        let attrs: String = (0..10_000).map(|i| format!(" title{i}=v")).collect();
        assert_eq!(b(&format!("<span{attrs}>x</span>")), "<span>x</span>");
        let many: String = (0..10_000).map(|_| " title=v").collect();
        assert_eq!(b(&format!("<span{many}>x</span>")), "<span title=\"v\">x</span>");
    }

    #[test]
    fn bounding_twice_changes_nothing() {
        // Found by fuzzing: an attribute value near the size limit whose escaped form is over it.
        let value = "d>x<".repeat(LIMITS.attribute_bytes / 4);
        let once = bound(&format!("<table><tr><s id=\"{value}\">x</s></tr></table>"));
        assert!(once.html.contains(" id=\""), "{}", &once.html[..60]);
        assert_eq!(bound(&once.html), once);
    }

    #[test]
    fn implicit_closes_are_the_same_when_bounded_again() {
        // Found by fuzzing: a row inside a paragraph inside a list item, then another item.
        let once = bound("<li>a<p>b<tr>c<li>d");
        assert_eq!(once.html, "<li>a<p>b<tr>c</tr></p></li><li>d</li>");
        assert_eq!(bound(&once.html), once);
    }

    #[test]
    fn end_tags_of_dropped_elements_are_dropped() {
        let limits = Limits { depth: 2, ..LIMITS };
        assert_eq!(bound_with("<div><div><div>x</div>y</div>z</div>w", limits).html, "<div><div>xy</div>z</div>w");
    }
}
