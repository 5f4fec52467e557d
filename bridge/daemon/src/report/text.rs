//! The report for a terminal: plain text, aligned columns, UTC times.

use std::fmt::Write as _;

use super::{DeliverableStatus, KpiReport, Report, duration_text, figure_text, time_text};

/// The whole report as text.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Post-activity report: {}", r.partnership);
    let _ = writeln!(s, "{}", r.objective);
    let _ = writeln!(
        s,
        "Period: {} to {} (states as of {})",
        time_text(&r.since),
        time_text(&r.until),
        time_text(&r.as_of)
    );
    let _ = writeln!(
        s,
        "Agreed language: {}; reply within {}; made {}",
        r.language,
        duration_text(r.reply_within_s),
        time_text(&r.generated_at)
    );

    let (met, measured) = r.kpis_met();
    if !r.kpis.is_empty() {
        let _ = writeln!(s, "\nKPIs: {met} of {} met", r.kpis.len());
        if measured < r.kpis.len() {
            let _ = writeln!(s, "  ({} with nothing to measure in the period)", r.kpis.len() - measured);
        }
        let rows = r
            .kpis
            .iter()
            .map(|k| {
                let verdict = match k.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "-",
                };
                vec![
                    verdict.to_string(),
                    kpi_label(r, k),
                    k.actual.map_or("no data".to_string(), |a| figure_text(&k.unit, a.0)),
                    target_text(k),
                ]
            })
            .collect();
        s.push_str(&table(rows, &[false, false, true, false]));
    }

    let _ = writeln!(s, "\nMessages: {}", r.messages);
    let mut rows = vec![
        ["member", "messages", "off-language", "first reply median", "p90", "answered", "overdue threads"]
            .map(String::from)
            .to_vec(),
    ];
    for m in &r.members {
        let f = &m.first_reply;
        rows.push(vec![
            m.name.clone(),
            m.messages.to_string(),
            m.off_language.to_string(),
            f.median_s.map_or("-".into(), duration_text),
            f.p90_s.map_or("-".into(), duration_text),
            format!("{} of {}", f.answered, f.answered + f.unanswered),
            m.overdue_threads.to_string(),
        ]);
    }
    s.push_str(&table(rows, &[false, true, true, true, true, true, true]));

    let _ = writeln!(s, "\nMessages per ISO week (UTC)");
    let mut header = vec!["week".to_string(), "from".to_string()];
    header.extend(r.members.iter().map(|m| m.name.clone()));
    let mut rows = vec![header];
    for w in &r.weeks {
        let mut row = vec![w.week.clone(), w.start.clone()];
        row.extend(r.members.iter().map(|m| w.messages.get(&m.city).copied().unwrap_or(0).to_string()));
        rows.push(row);
    }
    let mut right = vec![false, false];
    right.extend(r.members.iter().map(|_| true));
    s.push_str(&table(rows, &right));

    let t = &r.threads;
    let _ = writeln!(s, "\nThreads: {}: {} open ({} overdue), {} closed", t.total, t.open, t.overdue, t.closed);
    let langs: Vec<String> = r.languages.iter().map(|(code, n)| format!("{code} {n}")).collect();
    let _ = writeln!(
        s,
        "Languages: {}; {} not in {}",
        if langs.is_empty() { "none".into() } else { langs.join(", ") },
        r.off_language,
        r.language
    );
    let _ = writeln!(s, "Failed deliveries: {}", r.failed_deliveries);

    if !r.deliverables.is_empty() {
        let _ = writeln!(s, "\nDeliverables");
        let rows = r
            .deliverables
            .iter()
            .map(|d| {
                let done = d.done_at.as_deref().map(|t| format!(", done {}", time_text(t))).unwrap_or_default();
                let meeting = if d.kind == "meeting" { " (meeting)" } else { "" };
                vec![
                    status_text(d.status).to_string(),
                    d.id.clone(),
                    format!("{}{meeting}, {}: due {}{done}", d.title, r.member_name(&d.owner), time_text(&d.due)),
                ]
            })
            .collect();
        s.push_str(&table(rows, &[false, false, false]));
    }
    s
}

/// `median first reply, Gifu`.
pub fn kpi_label(r: &Report, k: &KpiReport) -> String {
    let what = match k.measure.as_str() {
        "median_first_reply" => "median first reply",
        "p90_first_reply" => "p90 first reply",
        "deliverables_on_time" => "deliverables on time",
        "messages" => "messages",
        "overdue_threads" => "overdue threads",
        "off_language" => "off-language posts",
        other => other,
    };
    match &k.member {
        Some(m) => format!("{what}, {}", r.member_name(m)),
        None => what.to_string(),
    }
}

/// `target at most 1d`.
pub fn target_text(k: &KpiReport) -> String {
    let how = if k.comparison == "at_least" { "at least" } else { "at most" };
    format!("target {how} {}", figure_text(&k.unit, k.target.0))
}

pub fn status_text(s: DeliverableStatus) -> &'static str {
    match s {
        DeliverableStatus::Open => "open",
        DeliverableStatus::Overdue => "OVERDUE",
        DeliverableStatus::DoneOnTime => "done on time",
        DeliverableStatus::DoneLate => "done late",
    }
}

/// Rows as aligned columns (two spaces in front, two between), `right` columns flush right.
fn table(rows: Vec<Vec<String>>, right: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| rows.iter().filter_map(|r| r.get(c)).map(|v| v.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let mut s = String::new();
    for row in &rows {
        let mut line = String::from(" ");
        for (c, v) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(v.chars().count());
            line.push(' ');
            if c + 1 == row.len() && !right.get(c).copied().unwrap_or(false) {
                line.push_str(v);
            } else if right.get(c).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(v);
            } else {
                line.push_str(v);
                line.push_str(&" ".repeat(pad));
            }
            line.push(' ');
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
