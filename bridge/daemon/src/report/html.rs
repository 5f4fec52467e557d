//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no script and
//! nothing fetched (a Content-Security-Policy of `default-src 'none'` says so to the browser,
//! which then refuses and logs any fetch). It reads on a phone (one column, charts as wide as
//! the screen, wide tables scroll) and prints (no backgrounds but the bars, no section split
//! across pages).
//!
//! The charts draw bars with percentage x and width in an SVG without a `viewBox`, so they
//! stretch to any width while their text keeps its size. Each bar is a `rect class="bar"` with
//! a `<title>` (shown on hover) saying what it is; the figures are also in tables.

use std::fmt::Write as _;

use super::text::{kpi_label, status_text, target_text};
use super::{Report, duration_text, figure_text, time_text};

/// The page's Content-Security-Policy: nothing but the page's own inline styles (and `data:`
/// images, none today) may load. Also sent as a header by the admin API.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Members' colours (Okabe–Ito, told apart with colour blindness too); more members reuse them.
const COLOURS: [&str; 7] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"];

const STYLE: &str = r#"
:root { --ink: #1d2430; --muted: #5b6575; --line: #d9dee6; --bg: #f5f6f8; --card: #fff;
  --ok: #1a7f37; --bad: #b42318; --late: #8a5a00; --na: #5f6b7a; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: var(--bg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif; }
header, main, footer { max-width: 62rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; }
.eyebrow { margin: 0; color: var(--muted); font-size: .8rem; letter-spacing: .06em; text-transform: uppercase; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .15rem 0 .35rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
p { margin: .25rem 0; }
.objective { font-size: 1.05rem; }
.meta { color: var(--muted); font-size: .9rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
section.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .75rem;
  background: none; border: 0; padding: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .7rem .8rem; }
.card .num { display: block; font-size: 1.65rem; font-weight: 650; line-height: 1.2; font-variant-numeric: tabular-nums; }
.card .label { display: block; color: var(--muted); font-size: .85rem; }
.card .detail { display: block; font-size: .8rem; color: var(--muted); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .8rem; }
.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  white-space: nowrap; border: 1px solid currentColor; }
.met, .done_on_time { color: var(--ok); background: #eaf6ee; }
.missed, .overdue { color: var(--bad); background: #fdeeec; }
.done_late { color: var(--late); background: #fff5db; }
.na, .open { color: var(--na); background: #f1f3f5; }
.legend { display: flex; flex-wrap: wrap; gap: .2rem 1rem; list-style: none; padding: 0; margin: 0 0 .5rem; font-size: .875rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: -1px; }
.swatch.light { opacity: .45; }
svg.chart { display: block; width: 100%; overflow: visible; }
svg.chart text { font-size: 12px; fill: var(--muted); }
svg.chart text.value { fill: var(--ink); }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
details { margin-top: .75rem; }
summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
.muted { color: var(--muted); }
.sub { display: none; color: var(--muted); font-size: .8rem; }
footer { color: var(--muted); font-size: .8rem; padding-bottom: 2rem; }
@media (min-width: 60rem) {
  main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); column-gap: 1rem; align-items: start;
    padding-top: 1rem; }
  main > section { margin: 0 0 1rem; }
  main > .full { grid-column: 1 / -1; }
}
@media (max-width: 30rem) {
  body { font-size: 15px; }
  header, main, footer { padding-left: .6rem; padding-right: .6rem; }
  section { padding: .75rem; }
  h1 { font-size: 1.35rem; }
  th, td { padding: .35rem .35rem; }
  .sub { display: block; }
  th.n { white-space: normal; }
  th.target, td.target, th.wide, td.wide { display: none; }
}
@media print {
  body { background: #fff; font-size: 10pt; }
  header, main, footer { max-width: none; padding: 0; }
  main { display: block; }
  section, .card { border-color: #bbb; break-inside: avoid; page-break-inside: avoid; }
  section.cards { grid-template-columns: repeat(5, 1fr); }
  .scroll { overflow: visible; }
  details > summary { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { margin: 14mm; }
}
"#;

/// HTML-escape text (element content and attribute values alike).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

/// A percentage for an SVG attribute: `12.5%`.
fn pct(v: f64) -> String {
    let v = (v * 1000.0).round() / 1000.0;
    format!("{v}%")
}

/// The smallest "nice" axis maximum (1, 2 or 5 times a power of ten) of at least `max`, and
/// its step for about four grid lines.
fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let raw = max / 4.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let step = if max <= 4.0 { 1.0 } else { step.max(1.0) };
    ((max / step).ceil() * step, step)
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut h = String::with_capacity(32 * 1024);
    let title = format!("Post-activity report: {}", r.partnership);
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&title)
    );
    header(&mut h, r);
    h.push_str("<main>\n");
    cards(&mut h, r);
    weeks(&mut h, r);
    kpis(&mut h, r);
    replies(&mut h, r);
    threads_and_languages(&mut h, r);
    deliverables(&mut h, r);
    h.push_str("</main>\n");
    let _ = writeln!(
        h,
        "<footer><p>Made by c2c-bridge at {}. Messages are contacts' posts (not the bridge's notices or \
         reminders), counted by ISO week in UTC. A first reply is the time from a conversation's first post \
         to a member's first post in it; p90: nine in ten came sooner. Threads and deliverables are as of {}.</p>\
         </footer>\n</body>\n</html>",
        esc(&time_text(&r.generated_at)),
        esc(&time_text(&r.as_of))
    );
    h
}

fn header(h: &mut String, r: &Report) {
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    let _ = writeln!(
        h,
        "<header>\n<p class=\"eyebrow\">Post-activity report</p>\n<h1>{}</h1>\n<p class=\"objective\">{}</p>\n\
         <p class=\"meta\">{} to {} (UTC, the end excluded) · members: {} · agreed language <b>{}</b> · reply within {}</p>\n</header>",
        esc(&r.partnership),
        esc(&r.objective),
        esc(&day(&r.since)),
        esc(&day(&r.until)),
        esc(&r.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")),
        esc(&r.language),
        esc(&duration_text(r.reply_within_s)),
    );
}

fn cards(h: &mut String, r: &Report) {
    let (met, _) = r.kpis_met();
    let t = &r.threads;
    let off_share = if r.messages > 0 {
        format!("{}% of posts", (r.off_language as f64 * 100.0 / r.messages as f64).round())
    } else {
        String::new()
    };
    h.push_str("<section class=\"cards full\" aria-label=\"Summary\">\n");
    let mut card = |num: String, label: &str, detail: String| {
        let _ = writeln!(
            h,
            "<div class=\"card\"><span class=\"num\">{}</span><span class=\"label\">{}</span><span class=\"detail\">{}</span></div>",
            esc(&num),
            esc(label),
            esc(&detail)
        );
    };
    card(r.messages.to_string(), "messages", format!("{} weeks", r.weeks.len()));
    card(t.total.to_string(), "threads", format!("{} open ({} overdue), {} closed", t.open, t.overdue, t.closed));
    if !r.kpis.is_empty() {
        card(format!("{met} / {}", r.kpis.len()), "KPIs met", String::new());
    }
    card(r.off_language.to_string(), &format!("not in {}", r.language), off_share);
    card(r.failed_deliveries.to_string(), "failed deliveries", "failed for good".into());
    h.push_str("</section>\n");
}

fn kpis(h: &mut String, r: &Report) {
    if r.kpis.is_empty() {
        return;
    }
    h.push_str("<section id=\"kpis\">\n<h2>KPIs</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>Measure</th><th class=\"target\">Target</th><th class=\"n\">Actual</th><th>Result</th></tr></thead>\n<tbody>\n");
    for k in &r.kpis {
        let (class, word) = match k.met {
            Some(true) => ("met", "met"),
            Some(false) => ("missed", "missed"),
            None => ("na", "no data"),
        };
        let actual = k.actual.map_or("–".to_string(), |a| figure_text(&k.unit, a.0));
        let target = esc(target_text(k).trim_start_matches("target "));
        let _ = writeln!(
            h,
            "<tr><td>{}<span class=\"sub\">{target}</span></td><td class=\"target nowrap\">{target}</td><td class=\"n\">{}</td><td><span class=\"badge {class}\">{word}</span></td></tr>",
            esc(&kpi_label(r, k)),
            esc(&actual)
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// Each member's colour, name and messages in the period.
fn legend(h: &mut String, r: &Report) {
    h.push_str("<ul class=\"legend\">");
    for (i, m) in r.members.iter().enumerate() {
        let _ = write!(
            h,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{} <b>{}</b></li>",
            colour(i),
            esc(&m.name),
            m.messages
        );
    }
    h.push_str("</ul>\n");
}

/// Messages per week per member: grouped bars, one group per week, one bar per member that
/// posted that week.
fn weeks(h: &mut String, r: &Report) {
    h.push_str("<section id=\"weeks\" class=\"full\">\n<h2>Messages per week</h2>\n");
    legend(h, r);
    const TOP: f64 = 12.0;
    const PLOT: f64 = 170.0;
    let bottom = TOP + PLOT;
    let max = r.weeks.iter().flat_map(|w| w.messages.values()).copied().max().unwrap_or(0) as f64;
    let (top_value, step) = axis(max);
    let _ = writeln!(
        h,
        "<svg class=\"chart\" id=\"chart-weeks\" height=\"{}\" role=\"img\" aria-label=\"Messages per week per member\">",
        bottom + 26.0
    );
    // Grid lines with their values, left of the bars.
    let mut v = 0.0;
    while v <= top_value + 1e-9 {
        let y = bottom - v / top_value * PLOT;
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"0\" x2=\"100%\" y1=\"{y}\" y2=\"{y}\"/><text x=\"0\" y=\"{}\">{v}</text>",
            y - 3.0
        );
        v += step;
    }
    let left = 5.0;
    let n = r.weeks.len().max(1) as f64;
    let group = (100.0 - left) / n;
    let members = r.members.len().max(1) as f64;
    let bar = group * 0.8 / members;
    let label_every = (r.weeks.len() as f64 / 12.0).ceil().max(1.0) as usize;
    for (wi, w) in r.weeks.iter().enumerate() {
        let x0 = left + group * wi as f64 + group * 0.1;
        for (mi, m) in r.members.iter().enumerate() {
            let count = w.messages.get(&m.city).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let height = count as f64 / top_value * PLOT;
            let _ = writeln!(
                h,
                "<rect class=\"bar\" data-week=\"{}\" data-member=\"{}\" x=\"{}\" width=\"{}\" y=\"{}\" height=\"{height}\" fill=\"{}\"><title>{}, {}: {count} {}</title></rect>",
                esc(&w.week),
                esc(&m.city),
                pct(x0 + bar * mi as f64),
                pct(bar * 0.92),
                bottom - height,
                colour(mi),
                esc(&m.name),
                esc(&w.week),
                if count == 1 { "message" } else { "messages" },
            );
        }
        if wi % label_every == 0 {
            let short = w.week.rsplit('-').next().unwrap_or(&w.week);
            let _ = writeln!(
                h,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                pct(left + group * (wi as f64 + 0.5)),
                bottom + 18.0,
                esc(short)
            );
        }
    }
    h.push_str("</svg>\n");
    // The figures, folded.
    h.push_str(
        "<details><summary>The figures</summary><div class=\"scroll\"><table>\n<thead><tr><th>Week</th><th>From</th>",
    );
    for m in &r.members {
        let _ = write!(h, "<th class=\"n\">{}</th>", esc(&m.name));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for w in &r.weeks {
        let _ = write!(h, "<tr><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td>", esc(&w.week), esc(&w.start));
        for m in &r.members {
            let _ = write!(h, "<td class=\"n\">{}</td>", w.messages.get(&m.city).copied().unwrap_or(0));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div></details>\n</section>\n");
}

/// First-reply times per member: a median and a p90 bar for each member that answered.
fn replies(h: &mut String, r: &Report) {
    h.push_str("<section id=\"replies\">\n<h2>First reply</h2>\n");
    h.push_str(
        "<ul class=\"legend\"><li><span class=\"swatch\" style=\"background:#5b6575\"></span>median</li>\
         <li><span class=\"swatch light\" style=\"background:#5b6575\"></span>p90 (nine in ten sooner)</li></ul>\n",
    );
    const ROW: f64 = 62.0;
    let max = r.members.iter().filter_map(|m| m.first_reply.p90_s).max().unwrap_or(0) as f64;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" id=\"chart-replies\" height=\"{}\" role=\"img\" aria-label=\"Median and p90 first-reply time per member\">",
        ROW * r.members.len() as f64 + 4.0
    );
    for (i, m) in r.members.iter().enumerate() {
        let y = ROW * i as f64;
        let f = &m.first_reply;
        let _ = writeln!(
            h,
            "<text x=\"0\" y=\"{}\" class=\"value\">{}</text>",
            y + 14.0,
            esc(&format!("{} ({} of {} answered)", m.name, f.answered, f.answered + f.unanswered))
        );
        let (Some(median), Some(p90)) = (f.median_s, f.p90_s) else {
            let _ = writeln!(h, "<text x=\"0\" y=\"{}\">no reply in the period</text>", y + 36.0);
            continue;
        };
        for (j, (what, secs, opacity)) in [("median", median, 1.0), ("p90", p90, 0.45)].into_iter().enumerate() {
            // At most 62% of the width: the value is written after the bar.
            let width = if max > 0.0 { (secs as f64 / max * 62.0).max(0.4) } else { 0.4 };
            let by = y + 20.0 + j as f64 * 19.0;
            let text = duration_text(secs);
            let _ = writeln!(
                h,
                "<rect class=\"bar\" data-member=\"{}\" data-what=\"{what}\" x=\"0\" width=\"{}\" y=\"{by}\" height=\"16\" fill=\"{}\" fill-opacity=\"{opacity}\"><title>{}: {what} {}</title></rect>\
                 <text x=\"{}\" y=\"{}\">{what} {}</text>",
                esc(&m.city),
                pct(width),
                colour(i),
                esc(&m.name),
                esc(&text),
                pct(width + 1.0),
                by + 12.5,
                esc(&text),
            );
        }
    }
    h.push_str("</svg>\n");
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>Member</th><th class=\"n wide\">Messages</th><th class=\"n\">Median</th><th class=\"n\">p90</th><th class=\"n wide\">Answered</th><th class=\"n\">Overdue threads</th></tr></thead>\n<tbody>\n");
    for m in &r.members {
        let f = &m.first_reply;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n wide\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n wide\">{} of {}</td><td class=\"n\">{}</td></tr>",
            esc(&m.name),
            m.messages,
            f.median_s.map_or("–".into(), duration_text),
            f.p90_s.map_or("–".into(), duration_text),
            f.answered,
            f.answered + f.unanswered,
            m.overdue_threads
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn threads_and_languages(h: &mut String, r: &Report) {
    let t = &r.threads;
    let _ = writeln!(
        h,
        "<section id=\"threads\">\n<h2>Threads and languages</h2>\n<p>{} threads: <b>{}</b> open (<b>{}</b> with a reply overdue), <b>{}</b> closed.</p>",
        t.total, t.open, t.overdue, t.closed
    );
    let langs: Vec<String> = r.languages.iter().map(|(c, n)| format!("{} {n}", esc(c))).collect();
    let _ = writeln!(
        h,
        "<p>Languages of the posts: {}. <b>{}</b> not in the agreed language ({}).</p>\n<p>Deliveries failed for good: <b>{}</b>.</p>\n</section>",
        if langs.is_empty() { "none".to_string() } else { langs.join(", ") },
        r.off_language,
        esc(&r.language),
        r.failed_deliveries
    );
}

fn deliverables(h: &mut String, r: &Report) {
    if r.deliverables.is_empty() {
        return;
    }
    h.push_str("<section id=\"deliverables\">\n<h2>Deliverables</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>Deliverable</th><th>Due (UTC)</th><th>Status</th></tr></thead>\n<tbody>\n");
    for d in &r.deliverables {
        let status = serde_json::to_value(d.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let done = d
            .done_at
            .as_deref()
            .map(|t| format!("<br><span class=\"muted\">done {}</span>", day_and_time(t)))
            .unwrap_or_default();
        let meeting = if d.kind == "meeting" { " (meeting)" } else { "" };
        let _ = writeln!(
            h,
            "<tr><td>{}<br><span class=\"muted\">{}{meeting} · {}</span></td><td>{}</td><td><span class=\"badge {status}\">{}</span>{done}</td></tr>",
            esc(&d.title),
            esc(&d.id),
            esc(r.member_name(&d.owner)),
            day_and_time(&d.due),
            esc(&status_text(d.status).to_lowercase()),
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// `2027-01-15 <span class="nowrap">15:00</span>` (UTC): the time wraps under the date on a
/// narrow screen.
fn day_and_time(rfc3339: &str) -> String {
    let text = time_text(rfc3339);
    let text = text.trim_end_matches(" UTC");
    match text.split_once(' ') {
        Some((day, time)) => {
            format!("<span class=\"nowrap\">{}</span> <span class=\"nowrap\">{}</span>", esc(day), esc(time))
        }
        None => esc(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_a_round_number() {
        assert_eq!(axis(0.0), (1.0, 1.0));
        assert_eq!(axis(3.0), (3.0, 1.0));
        assert_eq!(axis(7.0), (8.0, 2.0));
        assert_eq!(axis(18.0), (20.0, 5.0));
        assert_eq!(axis(130.0), (150.0, 50.0));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<b>\"Tom\" & 'Jerry'</b>"), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
    }
}
