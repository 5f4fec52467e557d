//! Quote and signature stripping on plain text: what is left is the new text the author wrote.
//!
//! The rules, applied in this order to normalised text (`\n`, no trailing whitespace):
//!
//! 1. **Top-posting separators** (unless the mail is a forward, see below): cut everything from
//!    the first unquoted line that is
//!    - a separator like `-----Original Message-----`, `-----原始邮件-----`,
//!      `------------------ 原始邮件 ------------------` (QQ/Foxmail), `-----Ursprüngliche
//!      Nachricht-----`, `-----Message d'origine-----`, `-----Mensaje original-----`,
//!      `-----元のメッセージ-----`;
//!    - an Outlook header block: a `From:` line followed within 6 lines by at least two of
//!      `Sent:`/`Date:`, `To:`, `Cc:`, `Subject:`, in English, Chinese (`发件人:` `发送时间:`
//!      `收件人:` `主题:`, traditional too), Japanese (`差出人:` `送信日時:` `宛先:` `件名:`),
//!      French, German, Spanish and Korean, with `:` or `：`, optionally `*bold*` (optionally
//!      preceded by a `____` rule line, which goes too).
//!
//!    Outlook does not mark the quoted message with `>`, so this cut does not look for quotes.
//!    A header block right after a forward marker (`---------- Forwarded message ---------`,
//!    `Begin forwarded message:`, `-------- Weitergeleitete Nachricht --------`...) or in a mail
//!    whose Subject starts with `Fwd:`/`FW:`/`WG:`/`TR:`/`RV:`/`转发:`/`転送:` is forwarded
//!    content, the point of the mail: it is kept.
//! 2. **Attribution + quote at the end**: the first unquoted attribution line ("On Mon, 3 Jun
//!    2024 at 10:00, Jo Smith <jo@x> wrote:", "Le ... a écrit :", "El ... escribió:",
//!    "Am ... schrieb ...:", "在 ... 写道：", "Jo <jo@x> 于2024年6月3日周一 10:00写道：",
//!    "2024年6月3日(月) 10:00 Jo Smith <jo@x>:", "... wrote:"; possibly wrapped over two lines)
//!    whose next non-blank line is quoted (`>`) and after which *every* line is quoted or blank:
//!    cut from the attribution.
//!    If unquoted lines follow the quotes, the author answered inline (interleaved or bottom
//!    posting): nothing is cut here; their answers and the quotes they answer stay.
//! 3. **Signature**: from the first unquoted line that is exactly `-- ` (RFC 3676) or `--` up to
//!    the next forward marker (or the end).
//! 4. **At the end**, repeatedly: a trailing block of quoted (`>`) and blank lines, together with
//!    the attribution line that introduces it; a trailing mobile signature ("Sent from my
//!    iPhone", "Sent from Outlook for Android", "Get Outlook for iOS", "发自我的iPhone",
//!    "发自网易邮箱大师", "iPhoneから送信", "Envoyé de mon iPhone", "Von meinem iPhone
//!    gesendet", "Enviado desde mi iPhone"...); a trailing attribution line with nothing after
//!    it (its quote was HTML and already left out).
//!
//! If stripping leaves nothing, the full text is returned.

/// Strips quoted history and signatures (see the module docs). `forward`: the mail is a
/// forward (its Subject says so); Outlook-style header blocks are then content, not history.
pub(crate) fn strip(text: &str, forward: bool) -> String {
    let all: Vec<&str> = text.split('\n').collect();
    let mut end = all.len();

    // 1. Outlook-style separators and header blocks.
    if !forward {
        for i in 0..end {
            let line = all.get(i).copied().unwrap_or_default();
            if is_quoted(line) {
                continue;
            }
            let rule_then_block = is_rule(line) && next_nonblank(&all, i + 1).is_some_and(|j| header_block_at(&all, j));
            if (is_separator(line) || rule_then_block || header_block_at(&all, i)) && !after_forward_marker(&all, i) {
                end = i;
                break;
            }
        }
    }

    // 2. The first attribution followed by quotes only. quoted_to_end[j]: lines j..end are all
    // quoted or blank.
    let mut quoted_to_end = vec![true; end + 1];
    for j in (0..end).rev() {
        let line = all.get(j).copied().unwrap_or_default();
        quoted_to_end[j] = quoted_to_end[j + 1] && (is_quoted(line) || is_blank(line));
    }
    for i in 0..end {
        let line = all.get(i).copied().unwrap_or_default();
        if is_quoted(line) || is_blank(line) {
            continue;
        }
        let Some(span) = attribution_at(&all, i, false) else { continue };
        let Some(j) = next_nonblank(&all, i + span).filter(|j| *j < end) else { continue };
        if is_quoted(all.get(j).copied().unwrap_or_default()) && quoted_to_end.get(j).copied().unwrap_or(false) {
            end = i;
            break;
        }
    }

    // 3. Signature: "-- " up to the next forward marker.
    let mut kept: Vec<&str> = all.get(..end).unwrap_or_default().to_vec();
    if let Some(s) = kept.iter().position(|l| l.trim_end() == "--") {
        let resume = kept.iter().skip(s + 1).position(|l| is_forward_marker(l)).map_or(kept.len(), |p| s + 1 + p);
        kept.drain(s..resume);
    }

    // 4. Trailing quotes, their attribution, mobile signatures, dangling attributions.
    loop {
        while kept.last().is_some_and(|l| is_blank(l)) {
            kept.pop();
        }
        let Some(last) = kept.last().copied() else { break };
        if is_quoted(last) {
            while kept.last().is_some_and(|l| is_quoted(l) || is_blank(l)) {
                kept.pop();
            }
            drop_trailing_attribution(&mut kept, false);
            continue;
        }
        if is_mobile_signature(last) {
            kept.pop();
            continue;
        }
        if drop_trailing_attribution(&mut kept, true) {
            continue;
        }
        break;
    }

    let out = kept.join("\n");
    let out = out.trim_matches('\n');
    if out.trim().is_empty() { text.to_string() } else { out.to_string() }
}

/// The Subject of a forward (`Fwd:`, `FW:`, `WG:`, `TR:`, `RV:`, `转发:`, `轉寄:`, `転送:`...).
pub(crate) fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    let Some(colon) = s.find([':', '：']) else { return false };
    let prefix = s.get(..colon).unwrap_or_default().trim();
    matches!(prefix, "fw" | "fwd" | "wg" | "tr" | "rv" | "enc" | "doorst" | "转发" | "轉寄" | "轉發" | "転送")
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn next_nonblank(lines: &[&str], from: usize) -> Option<usize> {
    lines.iter().skip(from).position(|l| !is_blank(l)).map(|p| from + p)
}

/// `-----Original Message-----` and its translations (dashes optional on one side).
fn is_separator(line: &str) -> bool {
    let t = line.trim();
    if !t.starts_with("--") {
        return false;
    }
    let inner = t.trim_matches(|c: char| c == '-' || c.is_whitespace()).to_lowercase();
    matches!(
        inner.as_str(),
        "original message"
            | "original"
            | "原始邮件"
            | "原始郵件"
            | "原邮件"
            | "ursprüngliche nachricht"
            | "originalnachricht"
            | "message d'origine"
            | "message d’origine"
            | "message original"
            | "mensaje original"
            | "元のメッセージ"
            | "オリジナルメッセージ"
            | "원본 메시지"
            | "원래 메시지"
    )
}

/// A line of underscores (Outlook's rule above a header block).
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 10 && t.chars().all(|c| c == '_')
}

fn is_forward_marker(line: &str) -> bool {
    let t = line.trim().to_lowercase();
    let t = t.trim_matches(|c: char| c == '-' || c.is_whitespace());
    t.contains("forwarded message")
        || t.starts_with("begin forwarded message")
        || t.contains("weitergeleitete nachricht")
        || t.contains("message transféré")
        || t.contains("mensaje reenviado")
        || t.contains("转发的邮件")
        || t.contains("轉寄的郵件")
        || t.contains("転送されたメッセージ")
        || t.contains("forwarded by")
}

fn after_forward_marker(lines: &[&str], i: usize) -> bool {
    lines.get(i.saturating_sub(3)..i).unwrap_or_default().iter().any(|l| is_forward_marker(l))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Sent,
    To,
    Cc,
    Subject,
}

/// A header-block field line (`From: ...`, `*发件人:* ...`), by its localised name.
fn field(line: &str) -> Option<Field> {
    let t = line.trim_start().trim_start_matches('*');
    let colon = t.find([':', '：'])?;
    let name = t.get(..colon)?.trim().trim_end_matches('*').trim().to_lowercase();
    if name.chars().count() > 20 {
        return None;
    }
    Some(match name.as_str() {
        "from" | "von" | "de" | "发件人" | "寄件者" | "寄件人" | "差出人" | "보낸 사람" => Field::From,
        "sent" | "date" | "gesendet" | "datum" | "envoyé" | "enviado" | "fecha" | "发送时间" | "日期" | "时间"
        | "寄件日期" | "傳送時間" | "送信日時" | "日付" | "보낸 날짜" => Field::Sent,
        "to" | "an" | "à" | "a" | "para" | "收件人" | "收件者" | "宛先" | "받는 사람" => Field::To,
        "cc" | "抄送" | "副本" | "抄送人" => Field::Cc,
        "subject" | "betreff" | "objet" | "asunto" | "主题" | "主旨" | "主題" | "件名" | "제목" => {
            Field::Subject
        }
        _ => return None,
    })
}

/// An Outlook header block starting at line `i`: `From:` then, within 6 lines, at least two of
/// Sent/Date, To, Cc, Subject, one of which is Sent/Date or Subject.
fn header_block_at(lines: &[&str], i: usize) -> bool {
    if lines.get(i).and_then(|l| field(l)) != Some(Field::From) {
        return false;
    }
    let found: Vec<Field> = lines.iter().skip(i + 1).take(6).filter_map(|l| field(l)).collect();
    let kinds = [Field::Sent, Field::To, Field::Cc, Field::Subject].into_iter().filter(|k| found.contains(k)).count();
    kinds >= 2 && (found.contains(&Field::Sent) || found.contains(&Field::Subject))
}

/// An attribution line ("On ... wrote:" and translations) at line `i`, alone or wrapped onto the
/// next line; returns how many lines it spans. `strong_only`: only the patterns with both a
/// recognisable start and end (safe to strip without a quote after them).
fn attribution_at(lines: &[&str], i: usize, strong_only: bool) -> Option<usize> {
    let line = lines.get(i)?;
    if let Some(strong) = attribution(line)
        && (strong || !strong_only)
    {
        return Some(1);
    }
    let next = lines.get(i + 1)?;
    if is_quoted(next) || is_blank(next) || line.chars().count() > 200 {
        return None;
    }
    let joined = format!("{} {}", line.trim_end(), next.trim());
    match attribution(&joined) {
        Some(strong) if strong || !strong_only => Some(2),
        _ => None,
    }
}

/// `Some(strong)` if the line is an attribution; strong = recognisable start and end.
fn attribution(line: &str) -> Option<bool> {
    let t = line.trim();
    if t.is_empty() || t.chars().count() > 300 {
        return None;
    }
    let l = t.to_lowercase();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| l.ends_with(s));
    let en_end = ends(&["wrote:", "wrote :"]);
    let fr_end = ends(&["a écrit :", "a écrit:", "a écrit :"]);
    let es_end = ends(&["escribió:", "escribió :"]);
    let de = l.starts_with("am ") && l.contains("schrieb") && ends(&[":"]);
    let zh = (l.contains("写道") || l.contains("寫道")) && ends(&[":", "："]);
    let ja_date = {
        let digits = l.chars().take_while(char::is_ascii_digit).count();
        digits == 4 && l.chars().nth(4).is_some_and(|c| c == '年' || c == '/') && ends(&[">:", ">：", "):", "）："])
    };
    let ja_end = ends(&["のメール:", "のメール：", "書きました:", "書きました："]);
    let strong = (l.starts_with("on ") && en_end)
        || (l.starts_with("le ") && fr_end)
        || (l.starts_with("el ") && es_end)
        || de
        || zh
        || ja_date
        || ja_end;
    let weak = en_end || fr_end || es_end || ends(&["schrieb:", "schreef:", "ha scritto:", "escreveu:"]);
    if strong {
        Some(true)
    } else if weak {
        Some(false)
    } else {
        None
    }
}

/// Removes an attribution (one or two lines) at the end of `kept`; true if it did.
fn drop_trailing_attribution(kept: &mut Vec<&str>, strong_only: bool) -> bool {
    while kept.last().is_some_and(|l| is_blank(l)) {
        kept.pop();
    }
    let n = kept.len();
    if n >= 1 && attribution_at(kept, n - 1, strong_only) == Some(1) {
        kept.truncate(n - 1);
        return true;
    }
    if n >= 2 && attribution_at(kept, n - 2, strong_only) == Some(2) {
        kept.truncate(n - 2);
        return true;
    }
    false
}

/// "Sent from my iPhone" and friends, as the last line of a mail.
fn is_mobile_signature(line: &str) -> bool {
    let t = line.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > 80 {
        return false;
    }
    const PREFIXES: [&str; 22] = [
        "sent from my ",
        "sent from outlook",
        "get outlook for ",
        "sent from mail for windows",
        "sent from yahoo mail",
        "sent from samsung",
        "sent from the all new aol app",
        "sent from gmail mobile",
        "envoyé de mon ",
        "envoyé depuis mon ",
        "envoyé à partir de ",
        "enviado desde mi ",
        "enviado desde outlook",
        "enviado do meu ",
        "von meinem ",
        "gesendet von meinem ",
        "inviato da ",
        "发自我的",
        "发自网易邮箱",
        "來自我的",
        "从我的",
        "發自我的",
    ];
    PREFIXES.iter().any(|p| t.starts_with(p)) || (t.ends_with("から送信") && t.chars().count() <= 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_reply() {
        let t = "Sounds good.\n\nOn Mon, 3 Jun 2024 at 10:00, Jo Smith <jo@x.org> wrote:\n\n> Shall we meet?\n>\n> Jo";
        assert_eq!(strip(t, false), "Sounds good.");
    }

    #[test]
    fn wrapped_attribution() {
        let t = "Yes.\n\nOn Mon, 3 Jun 2024 at 10:00, Jo Smith <\njo@x.org> wrote:\n> q";
        assert_eq!(strip(t, false), "Yes.");
    }

    #[test]
    fn interleaved_answers_stay() {
        let t = "On Mon, Jo wrote:\n> Q1?\nA1.\n> Q2?\nA2.\n> Thanks\n> Jo";
        assert_eq!(strip(t, false), "On Mon, Jo wrote:\n> Q1?\nA1.\n> Q2?\nA2.");
    }

    #[test]
    fn outlook_block() {
        let t =
            "Agreed.\n\nFrom: Li Wei <li@hz.cn>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Jo\nSubject: RE: x\n\nold";
        assert_eq!(strip(t, false), "Agreed.");
        assert_eq!(strip(t, true), t);
        let z = "好的。\n\n发件人: 李伟 <li@hz.cn>\n发送时间: 2024年6月3日 10:00\n收件人: Jo\n主题: 回复: x\n\n旧";
        assert_eq!(strip(z, false), "好的。");
    }

    #[test]
    fn forward_marker_keeps_block() {
        let t = "FYI\n\n---------- Forwarded message ---------\nFrom: X <x@y>\nDate: Mon\nSubject: s\nTo: me\n\nbody";
        assert_eq!(strip(t, false), t);
    }

    #[test]
    fn signatures() {
        assert_eq!(strip("Hi\n-- \nJo Smith\nLeeds", false), "Hi");
        assert_eq!(strip("Hi\n\nSent from my iPhone", false), "Hi");
        assert_eq!(strip("Hi\n\n发自我的iPhone\n\n在 2024年6月3日 写道：\n> q", false), "Hi");
        assert_eq!(strip("-- \nonly a signature", false), "-- \nonly a signature");
    }

    #[test]
    fn localized_attributions() {
        for a in [
            "Le lun. 3 juin 2024 à 10:00, Jo Smith <jo@x.org> a écrit :",
            "El lun, 3 jun 2024 a las 10:00, Jo Smith (<jo@x.org>) escribió:",
            "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Jo Smith <jo@x.org>:",
            "在 2024年6月3日，10:00，Jo Smith <jo@x.org> 写道：",
            "Jo Smith <jo@x.org> 于2024年6月3日周一 10:00写道：",
            "2024年6月3日(月) 10:00 Jo Smith <jo@x.org>:",
        ] {
            assert_eq!(attribution(a), Some(true), "{a}");
            assert_eq!(strip(&format!("New\n\n{a}\n\n> old"), false), "New", "{a}");
        }
        assert_eq!(attribution("I wrote: nothing"), None);
    }

    #[test]
    fn forward_subjects() {
        assert!(is_forward_subject("Fwd: plan") && is_forward_subject("FW: plan") && is_forward_subject("转发：计划"));
        assert!(!is_forward_subject("Re: Fwd: plan") && !is_forward_subject("Forward planning: 2025"));
    }
}
