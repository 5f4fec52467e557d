//! Targeted checks: each problem is found, located and worded; valid variants pass.

use std::path::Path;
use std::time::Duration;

use c2c_config::{Config, PartnershipKind, Security};

/// A small valid config; tests append to it or replace parts of it.
const BASE: &str = r#"[bridge]
name = "t"
data_dir = "state"
listen = "127.0.0.1:8480"

[connectors.email]
address = "bridge@example.org"
imap = { host = "127.0.0.1", user = "b", password_env = "P" }
smtp = { host = "127.0.0.1", security = "none", user = "b", password_file = "secrets/smtp" }

[[cities]]
id = "a"
name = "A"
country = "GB"
  [[cities.contacts]]
  id = "a1"
  name = "A One"
  role = "IR"
  email = "a1@a.example"

[[cities]]
id = "b"
name = "B"
country = "FR"
kind = "lga"
  [[cities.contacts]]
  id = "b1"
  name = "B One"
  role = "IR"
  email = "b1@b.example"

[[partnerships]]
id = "ab"
kind = "city-lga"
members = ["a", "b"]
objective = "o"
language = "en"
reply_within = "36h"
channels = { a = "email", b = "email" }
"#;

fn parse(text: &str) -> Result<Config, Vec<String>> {
    Config::parse(text, Path::new("dir/t.toml")).map_err(|e| e.iter().map(|e| e.to_string()).collect())
}

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors,
    }
}

#[test]
fn the_base_config_is_valid_and_defaults_apply() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.bridge.data_dir, Path::new("dir/state"));
    let email = config.connectors.email.as_ref().unwrap();
    assert_eq!((email.imap.security, email.imap.port), (Security::Tls, 993));
    assert_eq!((email.smtp.security, email.smtp.port), (Security::None, 25));
    match &email.smtp.password {
        c2c_config::SecretRef::File { path, at } => {
            assert_eq!(path, Path::new("dir/secrets/smtp"));
            assert_eq!((at.line, at.column), (9, 61));
            assert_eq!(at.path, "connectors.email.smtp.password_file");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(config.bridge.delivery, c2c_config::Delivery::default());
    assert_eq!(config.partnerships[0].kind, PartnershipKind::CityLga);
    assert_eq!(config.partnerships[0].reply_within.as_secs(), 36 * 3600);
    assert_eq!(config.cities[0].timezone, chrono_tz::UTC);
    assert_eq!(config.summary(), "2 cities, 2 contacts, 1 partnership; connectors: email");
}

#[test]
fn syntax_errors_are_located() {
    let e = errors("[bridge]\nname = \"unterminated\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("dir/t.toml:2:21: TOML syntax error: "), "{e:?}");
}

#[test]
fn an_empty_file_lacks_the_bridge_table() {
    assert_eq!(errors(""), ["dir/t.toml:1:1: missing required table [bridge]"]);
}

#[test]
fn unreadable_files_have_no_position() {
    let e = Config::load(Path::new("no/such/file.toml")).unwrap_err();
    assert!(e.to_string().starts_with("no/such/file.toml: cannot read the config file: "), "{e}");
}

#[test]
fn unknown_keys_everywhere_get_hints() {
    let text = BASE
        .replace("role = \"IR\"\n  email = \"a1", "role = \"IR\"\n  emial = \"x\"\n  email = \"a1")
        .replace("user = \"b\", password_env", "usr = \"b\", user = \"b\", password_env")
        + "[extra]\n";
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:8:30: connectors.email.imap.usr: unknown key `usr`; did you mean `user`?",
            "dir/t.toml:19:3: cities[0].contacts[0].emial: unknown key `emial`; did you mean `email`?",
            "dir/t.toml:41:2: extra: unknown key `extra`; expected one of `bridge`, `federation`, `peers`, `connectors`, `cities`, `partnerships`, `admins`",
        ]
    );
}

#[test]
fn the_instance_id_is_an_id_and_instance_id_its_older_spelling() {
    let with =
        |keys: &str| BASE.replace("listen = \"127.0.0.1:8480\"\n", &format!("listen = \"127.0.0.1:8480\"\n{keys}"));
    assert_eq!(parse(&with("instance = \"here\"\n")).unwrap().bridge.instance.as_deref(), Some("here"));
    let older = with("instance_id = \"here\"\n");
    assert_eq!(parse(&older).unwrap().bridge.instance.as_deref(), Some("here"), "an existing file keeps working");
    assert_eq!(parse(BASE).unwrap().bridge.instance, None);
    assert_eq!(
        errors(&with("instance = \"here\"\ninstance_id = \"here\"\n")),
        ["dir/t.toml:6:1: bridge.instance_id: give either `instance` or `instance_id` (its older spelling), not both"]
    );
    assert_eq!(
        errors(&with("instance = \"brlc/1\"\n")),
        [
            "dir/t.toml:5:12: bridge.instance: \"brlc/1\" is not a valid id (up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)"
        ]
    );
}

#[test]
fn wrong_types_and_missing_keys() {
    let text = BASE
        .replace("listen = \"127.0.0.1:8480\"", "listen = 8480")
        .replace("name = \"A\"\n", "")
        .replace("members = [\"a\", \"b\"]", "members = [\"a\", 2]");
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:4:10: bridge.listen: expected a string, found an integer",
            "dir/t.toml:11:1: cities[0]: missing required key `name`",
            "dir/t.toml:34:17: partnerships[0].members[1]: expected a string, found an integer",
        ]
    );
}

#[test]
fn secrets_exactly_one_of_env_or_file() {
    let text = BASE.replace("password_env = \"P\"", "password_env = \"P\", password_file = \"p\"");
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:8:62: connectors.email.imap.password_file: give either `password_env` or `password_file`, not both"
        ]
    );
    let text = BASE.replace(", password_env = \"P\"", "");
    assert_eq!(errors(&text), ["dir/t.toml:8:8: connectors.email.imap: missing `password_env` or `password_file`"]);
    let text = BASE.replace("password_env = \"P\"", "password_env = \"not a name\"");
    assert!(errors(&text)[0].contains("is not an environment variable name"));
}

/// Found by the config fuzz target: a value quoted into a message carried a terminal escape
/// (and could carry a line break) into the report.
#[test]
fn values_quoted_in_problems_cannot_break_the_line_or_drive_the_terminal() {
    let text = BASE.replace(r#"channels = { a = "email""#, r#"channels = { a = "mat\u001brix\nemail""#);
    assert_eq!(
        errors(&text),
        [
            r"dir/t.toml:39:18: partnerships[0].channels.a: unknown channel `mat\u{1b}rix\nemail` (expected email, matrix or webhook)"
        ]
    );
}

#[test]
fn a_city_does_not_agree_on_peer() {
    let text = BASE.replace(r#"channels = { a = "email""#, r#"channels = { a = "peer""#);
    assert_eq!(
        errors(&text),
        [
            r#"dir/t.toml:39:18: partnerships[0].channels.a: a city does not agree on "peer": a city hosted by a peer instance (`peer = "..."` on the city) has its agreed channel on its home instance, and none here"#
        ]
    );
}

#[test]
fn a_webhook_may_name_a_previous_secret_while_rotating() {
    let text = BASE.replace(
        "country = \"FR\"\n",
        "country = \"FR\"\nwebhook = { url = \"https://b.example/c2c\", secret_env = \"NEW\", previous_secret_file = \"old.whsec\" }\n",
    );
    let config = parse(&text).unwrap();
    let webhook = config.city("b").unwrap().webhook.as_ref().unwrap();
    match webhook.previous_secret.as_ref().unwrap() {
        c2c_config::SecretRef::File { path, at } => {
            assert_eq!(path, Path::new("dir/old.whsec"), "relative to the config file");
            assert_eq!((at.line, at.path.as_str()), (25, "cities[1].webhook.previous_secret_file"));
        }
        other => panic!("{other:?}"),
    }
    // Both are secrets the daemon reads (and `check-config --env` checks), in file order.
    let refs: Vec<String> = config.secret_refs().iter().map(|r| r.location().path.clone()).collect();
    assert_eq!(refs[refs.len() - 2..], ["cities[1].webhook.secret_env", "cities[1].webhook.previous_secret_file"]);
    // Like any secret: never inline, and one of env or file.
    let inline = text.replace("previous_secret_file = \"old.whsec\"", "previous_secret = \"whsec_abc\"");
    assert!(errors(&inline)[0].contains("secrets never sit in the config file: use `previous_secret_env`"));
    let both = text.replace("previous_secret_file", "previous_secret_env = \"OLD\", previous_secret_file");
    assert!(errors(&both)[0].contains("give either `previous_secret_env` or `previous_secret_file`, not both"));
    // Without one there is none.
    let plain = text.replace(", previous_secret_file = \"old.whsec\"", "");
    assert!(parse(&plain).unwrap().city("b").unwrap().webhook.as_ref().unwrap().previous_secret.is_none());
}

#[test]
fn partnership_kinds_must_match_members() {
    let city_city = BASE.replace("kind = \"city-lga\"", "kind = \"city-city\"");
    assert_eq!(
        errors(&city_city),
        [
            "dir/t.toml:34:8: partnerships[0].kind: a city-city partnership is between two cities, but \"b\" is of kind \"lga\" (use kind = \"city-lga\")"
        ]
    );
    let lga_lga = BASE.replace("kind = \"city-lga\"", "kind = \"lga-lga\"");
    assert!(errors(&lga_lga)[0].contains("between LGAs only, but \"a\" is of kind \"city\""));
    let both_cities = BASE.replace("kind = \"lga\"\n", "");
    assert!(errors(&both_cities)[0].contains("this one has 0 of kind \"lga\" and 2 of kind \"city\""));
    let multi = BASE.replace("kind = \"city-lga\"", "kind = \"multi-city\"");
    parse(&multi).unwrap();
    let one_member = BASE.replace("members = [\"a\", \"b\"]", "members = [\"a\"]").replace(", b = \"email\"", "");
    assert_eq!(
        errors(&one_member),
        ["dir/t.toml:35:11: partnerships[0].members: a partnership needs at least two members"]
    );
}

#[test]
fn duplicate_endpoints_and_the_bridge_itself() {
    let text = BASE
        .replace("b1@b.example", "A1@A.example")
        .replace("a1@a.example", "a1@a.example\"\n  matrix = \"@a:x\"\n  #\"");
    let text =
        text + "\n[connectors.matrix]\nhomeserver = \"https://m.example\"\nuser = \"@a:x\"\npassword_env = \"M\"\n";
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:20:12: cities[0].contacts[0].matrix: this is the bridge's own Matrix user ([connectors.matrix] user)",
            "dir/t.toml:32:11: cities[1].contacts[0].email: duplicate email address \"A1@A.example\" (first used on line 19)",
        ]
    );
}

#[test]
fn every_channel_s_endpoints_are_checked_by_its_kind() {
    // Matrix ids compare exactly, and one shared is a duplicate; a contact with the bridge's
    // mail address (any case) would loop.
    let text = BASE
        .replace("a1@a.example\"", "a1@a.example\"\n  matrix = \"@same:x\"")
        .replace("b1@b.example\"", "Bridge@Example.org\"\n  matrix = \"@same:x\"");
    let text = text
        + "\n[connectors.matrix]\nhomeserver = \"https://m.example\"\nuser = \"@bridge:x\"\npassword_env = \"M\"\n";
    let found = errors(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[1].ends_with("cities[1].contacts[0].matrix: duplicate Matrix id \"@same:x\" (first used on line 20)"),
        "{found:?}"
    );
    assert!(
        found[0]
            .ends_with("cities[1].contacts[0].email: this is the bridge's own address ([connectors.email] address)"),
        "{found:?}"
    );
    assert!(
        parse(
            &text
                .replace("\"@same:x\"\n\n[[partnerships]]", "\"@Same:x\"\n\n[[partnerships]]")
                .replace("Bridge@Example.org", "b1@b.example")
        )
        .is_ok()
    );

    // A per-city channel needs the city's own endpoint; per-contact and per-member channels need
    // each contact's address.
    let text = BASE
        .replace("channels = { a = \"email\", b = \"email\" }", "channels = { a = \"webhook\", b = \"matrix\" }")
        + "\n[connectors.matrix]\nhomeserver = \"https://m.example\"\nuser = \"@bridge:x\"\npassword_env = \"M\"\n"
        + "\n[connectors.webhook]\n";
    let found = errors(&text);
    assert!(
        found.iter().any(|e| e.ends_with(
            "partnerships[0].channels.a: webhook is agreed here, but city \"a\" has no `webhook = { url = ..., secret_env = ... }`"
        )),
        "{found:?}"
    );
    assert!(
        found.iter().any(|e| e.ends_with(
            "cities[1].contacts[0]: contact \"b1\" has no `matrix`, but city \"b\" agreed on matrix in partnership \"ab\""
        )),
        "{found:?}"
    );
}

#[test]
fn clear_text_mail_only_on_loopback() {
    let text =
        BASE.replace("host = \"127.0.0.1\", security = \"none\"", "host = \"smtp.example\", security = \"none\"");
    assert!(errors(&text)[0].contains("only allowed with a loopback host"));
    let text = BASE.replace("security = \"none\"", "security = \"starttls\"");
    let config = parse(&text).unwrap();
    assert_eq!(config.connectors.email.unwrap().smtp.port, 587);
}

/// BASE with a deliverable of city "a" appended (its lines start at 40).
fn with_deliverable(lines: &str) -> String {
    BASE.to_string() + "  [[partnerships.deliverables]]\n  title = \"Library draft\"\n  owner = \"a\"\n" + lines
}

#[test]
fn deliverables_are_due_at_the_end_of_the_owners_day_or_at_a_time() {
    let due = |text: &str| {
        let config = parse(text).unwrap();
        let d = config.partnerships[0].deliverables[0].clone();
        (d.due.to_rfc3339(), d.due_as_written.to_string())
    };
    // A date: due at 24:00 where the owner is (UTC by default, here Tokyo, here London in summer).
    let date = with_deliverable("  due = 2027-01-15\n");
    assert_eq!(due(&date), ("2027-01-16T00:00:00+00:00".into(), "2027-01-15".into()));
    let tokyo = date.replace("country = \"GB\"\n", "country = \"GB\"\ntimezone = \"Asia/Tokyo\"\n");
    assert_eq!(due(&tokyo).0, "2027-01-15T15:00:00+00:00");
    let london = date.replace("country = \"GB\"\n", "country = \"GB\"\ntimezone = \"Europe/London\"\n");
    assert_eq!(due(&london.replace("2027-01-15", "2027-07-15")).0, "2027-07-15T23:00:00+00:00");
    assert_eq!(due(&date.replace("2027-01-15", "\"2027-01-15\"")).1, "2027-01-15");
    // A date-time with an offset: due then, whoever owns it.
    let time = with_deliverable("  due = 2027-01-15T10:00:00+01:00\n");
    assert_eq!(due(&time), ("2027-01-15T09:00:00+00:00".into(), "2027-01-15T10:00:00+01:00".into()));
    assert_eq!(
        due(&time.replace("due = 2027-01-15T10:00:00+01:00", "due = \"2027-01-15T09:00:00Z\"")).1,
        "2027-01-15T09:00:00Z"
    );
    // Without an offset it could mean anything.
    assert_eq!(
        errors(&date.replace("due = 2027-01-15", "due = 2027-01-15T10:00:00")),
        [
            "dir/t.toml:43:9: partnerships[0].deliverables[0].due: \"2027-01-15T10:00:00\" has no UTC offset: write a date (due at the end of that day in the owner's time zone) or a date-time with an offset, e.g. \"2027-01-15T10:00:00+01:00\""
        ]
    );
    assert!(errors(&date.replace("due = 2027-01-15", "due = \"soon\""))[0].contains("is neither a date"));
    assert!(
        errors(&date.replace("due = 2027-01-15", "due = 15"))[0]
            .contains("expected a date or date-time, found an integer")
    );
}

#[test]
fn deliverables_have_ids_kinds_and_reminders() {
    let config = parse(&with_deliverable("  due = 2027-01-15\n")).unwrap();
    let d = &config.partnerships[0].deliverables[0];
    assert_eq!((d.id.as_str(), d.kind), ("library-draft", c2c_config::DeliverableKind::Deliverable));
    assert_eq!(d.remind, [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)]);
    assert_eq!(d.overdue_reminders, 3);

    let set = with_deliverable(
        "  due = 2027-01-15\n  id = \"lib.v2\"\n  kind = \"meeting\"\n  remind = [\"1d\", \"2w\", \"30m\"]\n  overdue_reminders = 0\n",
    );
    let config = parse(&set).unwrap();
    let d = &config.partnerships[0].deliverables[0];
    assert_eq!((d.id.as_str(), d.kind, d.overdue_reminders), ("lib.v2", c2c_config::DeliverableKind::Meeting, 0));
    assert_eq!(d.remind, [Duration::from_secs(14 * 86_400), Duration::from_secs(86_400), Duration::from_secs(1800)]);
    let none = parse(&set.replace("[\"1d\", \"2w\", \"30m\"]", "[]")).unwrap();
    assert!(none.partnerships[0].deliverables[0].remind.is_empty());

    let bad = with_deliverable(
        "  due = 2027-01-15\n  id = \"lib v2\"\n  kind = \"call\"\n  remind = [\"0s\", \"1d\", \"24h\", \"2y\", 3]\n  overdue_reminders = -1\n",
    );
    assert_eq!(
        errors(&bad),
        [
            "dir/t.toml:44:8: partnerships[0].deliverables[0].id: \"lib v2\" is not a valid id (up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
            "dir/t.toml:45:10: partnerships[0].deliverables[0].kind: unknown value \"call\" (expected \"deliverable\" or \"meeting\")",
            "dir/t.toml:46:13: partnerships[0].deliverables[0].remind[0]: must be longer than zero",
            "dir/t.toml:46:25: partnerships[0].deliverables[0].remind[2]: \"24h\" is listed twice",
            "dir/t.toml:46:32: partnerships[0].deliverables[0].remind[3]: must be at most 366d",
            "dir/t.toml:46:38: partnerships[0].deliverables[0].remind[4]: expected a string, found an integer",
            "dir/t.toml:47:23: partnerships[0].deliverables[0].overdue_reminders: must be between 0 and 100, not -1",
        ]
    );
}

#[test]
fn deliverable_ids_are_unique_within_a_partnership() {
    let twice = with_deliverable("  due = 2027-01-15\n")
        + "  [[partnerships.deliverables]]\n  title = \"Library: draft!\"\n  owner = \"a\"\n  due = 2027-02-15\n"
        + "  [[partnerships.deliverables]]\n  id = \"library-draft\"\n  title = \"Other\"\n  owner = \"b\"\n  due = 2027-02-15\n"
        + "  [[partnerships.deliverables]]\n  title = \"图书馆\"\n  owner = \"b\"\n  due = 2027-02-15\n";
    assert_eq!(
        errors(&twice),
        [
            "dir/t.toml:45:11: partnerships[0].deliverables[1].title: this title gives the id \"library-draft\", already used on line 40: add `id = \"...\"`",
            "dir/t.toml:49:8: partnerships[0].deliverables[2].id: duplicate deliverable id \"library-draft\" (first used on line 40)",
            "dir/t.toml:54:11: partnerships[0].deliverables[3].title: an id cannot be made from this title (it has no ASCII letters or digits): add `id = \"...\"`",
        ]
    );
    // The same id in two partnerships is fine: `/done` is said in a partnership's thread.
    let two = with_deliverable("  due = 2027-01-15\n")
        + "[[partnerships]]\nid = \"ab2\"\nkind = \"city-lga\"\nmembers = [\"a\", \"b\"]\nobjective = \"o\"\n\
           language = \"en\"\nreply_within = \"1d\"\nchannels = { a = \"email\", b = \"email\" }\n"
        + "  [[partnerships.deliverables]]\n  title = \"Library draft\"\n  owner = \"a\"\n  due = 2027-01-15\n";
    parse(&two).unwrap();
}

#[test]
fn reply_from_defaults_to_each_between_two() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.partnerships[0].reply_from, c2c_config::ReplyFrom::Each);
    let any = BASE.replace("reply_within = \"36h\"\n", "reply_within = \"36h\"\nreply_from = \"any\"\n");
    assert_eq!(parse(&any).unwrap().partnerships[0].reply_from, c2c_config::ReplyFrom::Any);
    assert_eq!(
        errors(&any.replace("\"any\"", "\"all\"")),
        ["dir/t.toml:39:14: partnerships[0].reply_from: unknown value \"all\" (expected \"each\" or \"any\")"]
    );
    assert_eq!(c2c_config::ReplyFrom::default_for(3), c2c_config::ReplyFrom::Any);
}

#[test]
fn working_time_defaults_and_overrides() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.bridge.working, c2c_config::WorkingTime::default());
    assert_eq!(config.cities[0].working.hours.to_string(), "09:00-17:00");
    assert_eq!(config.cities[0].working.days.to_string(), "mon, tue, wed, thu, fri");
    assert!(config.cities[0].working.holidays.is_empty());

    let text = BASE
        .replace(
            "listen = \"127.0.0.1:8480\"\n",
            "listen = \"127.0.0.1:8480\"\nworking_hours = \"8:30-16:00\"\nworking_days = [\"sun\", \"mon\", \"tue\", \"wed\", \"thu\"]\n",
        )
        .replace(
            "kind = \"lga\"\n",
            "kind = \"lga\"\nworking_hours = \"00:00-24:00\"\nholidays = [\"2027-12-25\", 2027-01-03]\n",
        );
    let config = parse(&text).unwrap();
    let bridge = &config.bridge.working;
    assert_eq!((bridge.hours.start_min, bridge.hours.end_min), (8 * 60 + 30, 16 * 60));
    assert_eq!(bridge.days.to_string(), "mon, tue, wed, thu, sun");
    assert_eq!(config.cities[0].working, *bridge, "a city without its own keys has the bridge's");
    let b = &config.cities[1].working;
    assert!(b.hours.is_all_day());
    assert_eq!(b.days, bridge.days, "days from the bridge, hours its own");
    let holidays: Vec<String> = b.holidays.iter().map(|d| d.to_string()).collect();
    assert_eq!(holidays, ["2027-01-03", "2027-12-25"]);
    let date = |d| chrono::NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
    assert!(!b.is_working_day(date(3)), "a Sunday, but a holiday of city b");
    assert!(config.cities[0].working.is_working_day(date(3)), "a Sunday, and no holiday of city a");
    assert!(!config.cities[0].working.is_working_day(date(1)), "a Friday");
}

#[test]
fn working_time_errors_are_located() {
    let text = BASE
        .replace(
            "listen = \"127.0.0.1:8480\"\n",
            "listen = \"127.0.0.1:8480\"\nworking_hours = \"17:00-09:00\"\nworking_days = []\n",
        )
        .replace(
            "kind = \"lga\"\n",
            "kind = \"lga\"\nworking_hours = \"9-17\"\nworking_days = [\"Monday\", \"tue\", \"tue\"]\nholidays = [\"2027-02-30\", 2027-01-01T10:00:00, \"2027-01-01\", 2027-01-01]\nholiday = []\n",
        );
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:5:17: bridge.working_hours: \"17:00-09:00\": work must start before it ends, the same day (hours past midnight are not supported)",
            "dir/t.toml:6:16: bridge.working_days: must name at least one day, e.g. [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]",
            "dir/t.toml:28:17: cities[1].working_hours: \"9-17\" is not a range of working hours (expected \"HH:MM-HH:MM\", e.g. \"09:00-17:00\"; \"00:00-24:00\" for all day)",
            "dir/t.toml:29:17: cities[1].working_days[0]: \"Monday\" is not a day (expected \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\" or \"sun\"); did you mean \"mon\"?",
            "dir/t.toml:29:34: cities[1].working_days[2]: \"tue\" is listed twice",
            "dir/t.toml:30:13: cities[1].holidays[0]: \"2027-02-30\" is not a valid date (YYYY-MM-DD)",
            "dir/t.toml:30:27: cities[1].holidays[1]: expected a date (YYYY-MM-DD), found a date-time or time",
            "dir/t.toml:30:62: cities[1].holidays[3]: 2027-01-01 is listed twice",
            "dir/t.toml:31:1: cities[1].holiday: unknown key `holiday`; did you mean `holidays`?",
        ]
    );
    for (hours, ok) in [
        ("00:00-24:00", true),
        ("07:05-7:10", true),
        ("00:00-24:01", false),
        ("24:00-24:00", false),
        ("09:00-09:00", false),
        ("09:60-10:00", false),
        ("0900-1700", false),
    ] {
        assert_eq!(hours.parse::<c2c_config::WorkingHours>().is_ok(), ok, "{hours}");
    }
}

#[test]
fn delivery_and_webhook_tuning() {
    let text = BASE.to_string()
        + "[bridge.delivery]\ninitial_backoff = \"500ms\"\nmax_backoff = \"100ms\"\nconcurrency = 0\ntimeout = \"0s\"\n\
           [connectors.webhook]\nmax_body_bytes = 1024\ntolerance = \"forever\"\n";
    // [bridge.delivery] after [[partnerships]] is still the bridge's table in TOML.
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:42:15: bridge.delivery.max_backoff: must not be shorter than initial_backoff (500ms)",
            "dir/t.toml:43:15: bridge.delivery.concurrency: must be between 1 and 1048576, not 0",
            "dir/t.toml:44:11: bridge.delivery.timeout: must be longer than zero",
            "dir/t.toml:47:13: connectors.webhook.tolerance: \"forever\" is not a duration (expected number at 0); write e.g. \"500ms\", \"2s\", \"36h\", \"5d\"",
        ]
    );
    let ok = BASE.to_string() + "[bridge.delivery]\nmax_attempts = 3\njitter = 0\n";
    let config = parse(&ok).unwrap();
    assert_eq!(config.bridge.delivery.max_attempts, Some(3), "still read (deprecated, ignored)");
    assert_eq!(config.bridge.delivery.jitter, 0.0);
    assert_eq!(config.bridge.delivery.give_up_after, Duration::from_secs(5 * 24 * 3600));
    assert_eq!(config.bridge.delivery.delay_warning_after, Some(Duration::from_secs(4 * 3600)));
}

#[test]
fn deliveries_give_up_by_age() {
    let delivery = |keys: &str| BASE.to_string() + "[bridge.delivery]\n" + keys;
    let config = parse(&delivery("give_up_after = \"3s\"\ndelay_warning_after = \"1s\"\n")).unwrap();
    assert_eq!(config.bridge.delivery.give_up_after, Duration::from_secs(3));
    assert_eq!(config.bridge.delivery.delay_warning_after, Some(Duration::from_secs(1)));
    let never = parse(&delivery("delay_warning_after = \"0s\"\n")).unwrap();
    assert_eq!(never.bridge.delivery.delay_warning_after, None, "\"0s\": no delay notice");
    let short = parse(&delivery("give_up_after = \"1h\"\n")).unwrap();
    assert_eq!(short.bridge.delivery.delay_warning_after, None, "the default 4h would never come first");
    assert_eq!(
        errors(&delivery("give_up_after = \"0s\"\ndelay_warning_after = \"2h\"\n")),
        ["dir/t.toml:41:17: bridge.delivery.give_up_after: must be longer than zero"]
    );
    assert_eq!(
        errors(&delivery("give_up_after = \"1h\"\ndelay_warning_after = \"2h\"\n")),
        [
            "dir/t.toml:42:23: bridge.delivery.delay_warning_after: must be shorter than give_up_after (1h), or \"0s\" for no delay notice"
        ]
    );
}

#[test]
fn matrix_rooms_belong_to_matrix_members() {
    let text = BASE.to_string().replace(
        "channels = { a = \"email\", b = \"email\" }",
        "channels = { a = \"email\", b = \"email\" }\nmatrix_rooms = { a = \"!r:x\", z = \"!s:x\" }",
    );
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:40:18: partnerships[0].matrix_rooms.a: \"a\"'s agreed channel is email, so it has no Matrix room",
            "dir/t.toml:40:30: partnerships[0].matrix_rooms.z: \"z\" is not a member of this partnership",
        ]
    );
}

#[test]
fn lookups_and_languages() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.city("b").unwrap().name, "B");
    assert!(config.city("c").is_none());
    assert_eq!(config.partnership("ab").unwrap().channel_of("b"), Some(c2c_config::Channel::Email));
    assert_eq!(config.contact_by_email(" B1@b.EXAMPLE ").unwrap().1.id, "b1");
    assert!(config.contact_by_matrix("@a:x").is_none());
    assert_eq!(config.languages_mentioned().into_iter().collect::<Vec<_>>(), ["en"]);
}

/// `sender_auth` defaults to "require", which needs the mail server's authserv-id: the file is
/// valid without one (the daemon refuses to start and says so), and every bad id is located.
#[test]
fn sender_auth_and_trusted_authserv_ids() {
    let email = parse(BASE).unwrap().connectors.email.unwrap();
    assert_eq!(email.sender_auth, c2c_config::SenderAuth::Require);
    assert!(email.sender_auth_problem().unwrap().contains("trusted_authserv_ids"));

    let with = BASE
        .replace("[[cities]]\nid = \"a\"", "trusted_authserv_ids = [\"Mail.Example.org\"]\n\n[[cities]]\nid = \"a\"");
    let email = parse(&with).unwrap().connectors.email.unwrap();
    assert_eq!(email.trusted_authserv_ids, ["mail.example.org"]);
    assert_eq!(email.sender_auth_problem(), None);

    let loose = BASE.replace("[[cities]]\nid = \"a\"", "sender_auth = \"if-present\"\n\n[[cities]]\nid = \"a\"");
    let email = parse(&loose).unwrap().connectors.email.unwrap();
    assert_eq!((email.sender_auth, email.sender_auth_problem()), (c2c_config::SenderAuth::IfPresent, None));

    let bad = BASE.replace(
        "[[cities]]\nid = \"a\"",
        "sender_auth = \"maybe\"\ntrusted_authserv_ids = [\"mail example\", \"mx.example\", \"MX.example\"]\n\n[[cities]]\nid = \"a\"",
    );
    let e = errors(&bad);
    assert!(e.iter().any(|l| l.contains("connectors.email.sender_auth: unknown value \"maybe\"")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("trusted_authserv_ids[0]: \"mail example\" is not an authserv-id")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("trusted_authserv_ids[2]: \"mx.example\" is listed twice")), "{e:?}");
}

#[test]
fn a_digest_is_weekly_or_daily_at_a_day_and_time() {
    assert_eq!(parse(BASE).unwrap().partnerships[0].digest, None, "off by default");
    let weekly = BASE.replace("reply_within = \"36h\"\n", "reply_within = \"36h\"\ndigest = \"weekly\"\n");
    let d = parse(&weekly).unwrap().partnerships[0].digest.unwrap();
    assert_eq!((d.every, d.day, d.time_min), (c2c_config::DigestEvery::Weekly, chrono::Weekday::Mon, None));
    let at =
        weekly.replace("digest = \"weekly\"\n", "digest = \"weekly\"\ndigest_day = \"fri\"\ndigest_time = \"16:30\"\n");
    let d = parse(&at).unwrap().partnerships[0].digest.unwrap();
    assert_eq!((d.day, d.time_min), (chrono::Weekday::Fri, Some(16 * 60 + 30)));
    let problems = errors(&at.replace("\"16:30\"", "\"4pm\"").replace("digest = \"weekly\"", "digest = \"daily\""));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("digest_day: a daily digest has no day"), "{problems:?}");
    assert!(problems[1].contains("digest_time: \"4pm\" is not a time of day"), "{problems:?}");
    let orphan = BASE.replace("reply_within = \"36h\"\n", "reply_within = \"36h\"\ndigest_day = \"mon\"\n");
    assert!(errors(&orphan)[0].contains("digest_day: needs `digest = \"weekly\"`"));
}

#[test]
fn contact_topics_are_lowercase_words_listed_once() {
    let text = BASE.replace(
        "  email = \"a1@a.example\"\n",
        "  email = \"a1@a.example\"\n  topics = [\"education\", \"smart-city\", \"交通\", \"health2030\"]\n",
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.cities[0].contacts[0].topics, ["education", "smart-city", "交通", "health2030"]);
    assert!(config.cities[1].contacts[0].topics.is_empty(), "none by default");

    let text = BASE.replace(
        "  email = \"a1@a.example\"\n",
        "  email = \"a1@a.example\"\n  topics = [\"Education\", \"public health\", \"-x\", \"a--b\", \"\", 5, \"transport\", \"transport\"]\n",
    );
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:20:13: cities[0].contacts[0].topics[0]: \"Education\" is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\"); did you mean \"education\"?",
            "dir/t.toml:20:26: cities[0].contacts[0].topics[1]: \"public health\" is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\"); did you mean \"public-health\"?",
            "dir/t.toml:20:43: cities[0].contacts[0].topics[2]: \"-x\" is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\"); did you mean \"x\"?",
            "dir/t.toml:20:49: cities[0].contacts[0].topics[3]: \"a--b\" is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\"); did you mean \"a-b\"?",
            "dir/t.toml:20:57: cities[0].contacts[0].topics[4]: \"\" is not a topic (one lowercase word of letters and digits, parts joined by '-', e.g. \"education\", \"smart-city\")",
            "dir/t.toml:20:61: cities[0].contacts[0].topics[5]: expected a string, found an integer",
            "dir/t.toml:20:77: cities[0].contacts[0].topics[7]: \"transport\" is listed twice",
        ]
    );
}

/// BASE with KPIs appended (their lines start at 40).
fn with_kpis(kpis: &[(&str, &str, Option<&str>)]) -> String {
    let mut text = BASE.to_string();
    for (measure, target, member) in kpis {
        text += &format!("  [[partnerships.kpis]]\n  measure = \"{measure}\"\n  target = {target}\n");
        if let Some(m) = member {
            text += &format!("  member = \"{m}\"\n");
        }
    }
    text
}

#[test]
fn kpis_read_their_target_in_the_measure_s_unit() {
    use c2c_config::{KpiMeasure, KpiTarget};
    let config = parse(&with_kpis(&[
        ("median_first_reply", "\"3d\"", None),
        ("p90_first_reply", "\"36h\"", Some("b")),
        ("deliverables_on_time", "0.9", None),
        ("messages", "20", Some("a")),
        ("overdue_threads", "0", None),
        ("off_language", "1", None),
    ]))
    .unwrap();
    let kpis = &config.partnerships[0].kpis;
    assert_eq!(kpis.len(), 6);
    assert_eq!(
        (kpis[0].measure, kpis[0].target, kpis[0].member.as_deref()),
        (KpiMeasure::MedianFirstReply, KpiTarget::Duration(Duration::from_secs(3 * 86_400)), None)
    );
    assert_eq!(kpis[1].target, KpiTarget::Duration(Duration::from_secs(36 * 3_600)));
    assert_eq!(kpis[1].member.as_deref(), Some("b"));
    assert_eq!(kpis[2].target, KpiTarget::Share(0.9));
    assert_eq!((kpis[3].target, kpis[3].member.as_deref()), (KpiTarget::Count(20), Some("a")));
    assert_eq!(kpis[4].target, KpiTarget::Count(0));
    assert_eq!(kpis[5].target, KpiTarget::Share(1.0), "a whole number is a share too");
    assert!(parse(BASE).unwrap().partnerships[0].kpis.is_empty(), "KPIs are optional");
}

#[test]
fn kpi_problems_are_located_and_say_what_the_target_should_be() {
    let text = with_kpis(&[
        ("median_first_reply", "3", None),
        ("p90_first_reply", "\"soon\"", None),
        ("deliverables_on_time", "90", None),
        ("messages", "2.5", None),
        ("overdue_threads", "\"none\"", None),
        ("mean_first_reply", "\"1d\"", None),
        ("messages", "10", Some("c")),
        ("off_language", "[0.1]", None),
        ("messages", "5", Some("a")),
        ("messages", "6", Some("a")),
    ]) + "  [[partnerships.kpis]]\n  target = 1\n  goal = 2\n";
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:42:12: partnerships[0].kpis[0].target: the target of median_first_reply is a duration, such as \"3d\" or \"36h\"",
            "dir/t.toml:45:12: partnerships[0].kpis[1].target: \"soon\" is not a duration (expected number at 0); write e.g. \"500ms\", \"2s\", \"36h\", \"5d\"",
            "dir/t.toml:48:12: partnerships[0].kpis[2].target: the target of deliverables_on_time is a share from 0 to 1 (0.9 is 90%), not 90",
            "dir/t.toml:51:12: partnerships[0].kpis[3].target: the target of messages is a whole number of at least 0, not 2.5",
            "dir/t.toml:54:12: partnerships[0].kpis[4].target: the target of overdue_threads is a whole number, such as 20, written without quotes, not \"none\"",
            "dir/t.toml:56:13: partnerships[0].kpis[5].measure: unknown value \"mean_first_reply\" (expected \"median_first_reply\", \"p90_first_reply\", \"deliverables_on_time\", \"messages\", \"overdue_threads\" or \"off_language\")",
            "dir/t.toml:61:12: partnerships[0].kpis[6].member: \"c\" is not a member of this partnership",
            "dir/t.toml:64:12: partnerships[0].kpis[7].target: expected a string or a number, found an array",
            "dir/t.toml:70:13: partnerships[0].kpis[9].measure: messages is already a KPI for \"a\" (line 65)",
            "dir/t.toml:73:3: partnerships[0].kpis[10]: missing required key `measure`",
            "dir/t.toml:75:3: partnerships[0].kpis[10].goal: unknown key `goal`; expected one of `measure`, `target`, `member`",
        ]
    );
}

#[test]
fn admins_are_scoped_to_known_cities_or_to_all() {
    let text = BASE.replace("listen = \"127.0.0.1:8480\"\n", "listen = \"127.0.0.1:8480\"\nadmin_token_env = \"T\"\n")
        + r#"
[[admins]]
id = "a-admin"
token_env = "C2C_ADMIN_A"
cities = ["a"]

[[admins]]
id = "ops"
token_file = "secrets/ops.token"
scope = "all"
"#;
    let config = parse(&text).unwrap();
    let admins: Vec<_> = config.admins.iter().map(|a| (a.id.as_str(), a.scope.clone())).collect();
    assert_eq!(
        admins,
        [("a-admin", c2c_config::AdminScope::Cities(vec!["a".into()])), ("ops", c2c_config::AdminScope::All)]
    );
    let refs: Vec<String> = config.secret_refs().iter().map(|r| r.location().path.clone()).collect();
    assert!(
        refs.contains(&"admins[0].token_env".to_string()) && refs.contains(&"admins[1].token_file".to_string()),
        "check-config --env reads admins' tokens too: {refs:?}"
    );
    match &config.admins[1].token {
        c2c_config::SecretRef::File { path, .. } => assert_eq!(path, Path::new("dir/secrets/ops.token")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn admin_entries_report_every_problem() {
    let text = BASE.replace("listen = \"127.0.0.1:8480\"\n", "listen = \"127.0.0.1:8480\"\nadmin_token_env = \"T\"\n")
        + r#"
[[admins]]
id = "admin"
token_env = "X"
scope = "all"

[[admins]]
id = "a-admin"
token = "inline-secret-0123456789abcdef0123"
cities = ["a", "nope", "a"]

[[admins]]
id = "both"
token_env = "X"
cities = ["a"]
scope = "all"

[[admins]]
id = "neither"
token_env = "X"

[[admins]]
id = "empty"
token_env = "X"
cities = []

[[admins]]
id = "empty"
token_env = "X"
scope = "everything"
rights = "read"
"#;
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:43:6: admins[0].id: \"admin\" is the id of the admin that [bridge] admin_token_* names; choose another",
            "dir/t.toml:49:1: admins[1].token: secrets never sit in the config file: use `token_env` (an environment variable) or `token_file` (a file) instead",
            "dir/t.toml:50:16: admins[1].cities[1]: no city with id \"nope\"",
            "dir/t.toml:50:24: admins[1].cities[2]: \"a\" is listed twice",
            "dir/t.toml:56:1: admins[2].scope: give either `cities` or `scope = \"all\"`, not both",
            "dir/t.toml:58:1: admins[3]: missing `cities = [...]` (the cities it administers) or `scope = \"all\"`",
            "dir/t.toml:65:10: admins[4].cities: name at least one city (or write scope = \"all\")",
            "dir/t.toml:70:9: admins[5].scope: \"everything\" is not a scope: write scope = \"all\", or name the cities with cities = [...]",
            "dir/t.toml:71:1: admins[5].rights: unknown key `rights`; expected one of `id`, `token_env`, `token_file`, `cities`, `scope`",
        ]
    );
}

#[test]
fn admin_ids_are_unique() {
    let text = BASE.to_string()
        + r#"
[[admins]]
id = "admin"
token_env = "X"
cities = ["a"]

[[admins]]
id = "admin"
token_env = "Y"
scope = "all"
"#;
    // Without a [bridge] admin token, "admin" is free; once.
    assert_eq!(errors(&text), ["dir/t.toml:47:6: admins[1].id: duplicate admin id \"admin\" (first used on line 42)"]);
}

/// Public keys of two throw-away ed25519 key pairs, as `GET /peer/v1/keys` shows them.
const KEY_P: &str = "whpk_3DRZMIfkEw1r6oeM6tQHkW+o992AvqJ+1BiM8y+gDUk=";
const KEY_Q: &str = "whpk_YO8Q5+NI8BzHkWYJfs1+Xacz+JX+EP9Y88f01CPmkUE=";
/// 32 zero bytes: of the right shape (the config does not check that it is a curve point).
const KEY_R: &str = "whpk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// BASE federated: this instance is "here" (line 4), with a signing key (line 43), peer "p"
/// (from line 45), city "c" hosted by it (from line 50) and partnership "ac" spanning both
/// instances (from line 56).
fn federated() -> String {
    BASE.replace("listen = \"127.0.0.1:8480\"\n", "listen = \"127.0.0.1:8480\"\ninstance = \"here\"\n")
        + &format!(
            r#"
[federation]
key_file = "keys/here.key"

[[peers]]
id = "p"
url = "https://p.example/c2c/"
public_keys = ["{KEY_P}"]

[[cities]]
id = "c"
name = "C"
country = "DE"
peer = "p"

[[partnerships]]
id = "ac"
kind = "city-city"
members = ["a", "c"]
objective = "o"
language = "en"
reply_within = "5d"
channels = {{ a = "email" }}
"#
        )
}

#[test]
fn a_city_hosted_by_a_peer_and_a_partnership_spanning_instances() {
    let config = parse(&federated()).unwrap();
    assert_eq!(config.bridge.instance.as_deref(), Some("here"));
    let federation = config.federation.as_ref().unwrap();
    assert_eq!(federation.key_file, Path::new("dir/keys/here.key"), "relative to the config file");
    assert_eq!((federation.key_file_at.line, federation.key_file_at.column), (43, 1));
    let peer = config.peer("p").unwrap();
    assert_eq!(peer.url, "https://p.example/c2c", "routes go under it");
    assert_eq!(peer.public_keys, [KEY_P]);
    // A city hosted by a peer needs no contact, no endpoint, no agreed channel here.
    let c = config.city("c").unwrap();
    assert!(c.is_remote() && c.contacts.is_empty() && c.webhook.is_none());
    assert!(!config.city("a").unwrap().is_remote());
    assert_eq!(config.partnership("ac").unwrap().channel_of("c"), None);
    assert_eq!(config.summary(), "3 cities, 2 contacts, 2 partnerships; connectors: email; peers: p (1 city)");
    // Without peers, the summary is as before.
    assert_eq!(parse(BASE).unwrap().summary(), "2 cities, 2 contacts, 1 partnership; connectors: email");
    assert!(parse(BASE).unwrap().peers.is_empty());
}

#[test]
fn peers_need_this_instance_s_id_and_signing_key() {
    let text =
        federated().replace("instance = \"here\"\n", "").replace("\n[federation]\nkey_file = \"keys/here.key\"\n", "");
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:41:1: peers[0]: a peer needs this instance's own id: add `instance = \"...\"` to [bridge] (the id its peers know it by)",
            "dir/t.toml:41:1: peers[0]: a peer needs this instance's signing key: add [federation] with `key_file = \"...\"` (made by `c2c-bridge peer keygen`)",
        ]
    );
    // [federation] and an instance id before any peer are fine.
    let prepared = BASE.replace("listen = \"127.0.0.1:8480\"\n", "listen = \"127.0.0.1:8480\"\ninstance = \"here\"\n")
        + "\n[federation]\nkey_file = \"keys/here.key\"\n";
    let config = parse(&prepared).unwrap();
    assert!(config.federation.is_some() && config.peers.is_empty());
}

#[test]
fn the_federation_key_file_is_a_file_named_never_given() {
    assert_eq!(
        errors(
            &federated().replace("key_file = \"keys/here.key\"", "key_file = \" \"\nkey = \"0123\"\nkeyfile = \"x\"")
        ),
        [
            "dir/t.toml:43:12: federation.key_file: must name a file",
            "dir/t.toml:44:1: federation.key: secrets never sit in the config file: use `key_file` (a file) instead",
            "dir/t.toml:45:1: federation.keyfile: unknown key `keyfile`; did you mean `key_file`?",
        ]
    );
    assert_eq!(
        errors(&federated().replace("key_file = \"keys/here.key\"\n", "")),
        ["dir/t.toml:42:1: federation: missing required key `key_file`"]
    );
}

#[test]
fn the_federation_key_file_is_checked_with_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let text = federated().replace("password_env = \"P\"", "password_file = \"secrets/imap\"");
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    for name in ["imap", "smtp"] {
        std::fs::write(dir.path().join("secrets").join(name), "pw\n").unwrap();
    }
    let config = Config::parse(&text, &path).unwrap();
    let problems =
        |config: &Config| config.check_secrets().map_err(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>());
    let key = dir.path().join("keys/here.key");
    assert_eq!(
        problems(&config).unwrap_err(),
        [format!(
            "{}:43:1: federation.key_file: cannot read key file {}: No such file or directory (os error 2) (make one with `c2c-bridge peer keygen --out {}`)",
            path.display(),
            key.display(),
            key.display()
        )]
    );
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, "").unwrap();
    assert_eq!(
        problems(&config).unwrap_err(),
        [format!("{}:43:1: federation.key_file: key file {} is empty", path.display(), key.display())]
    );
    // Its contents are the peer connector's to read: here, only that it can be read.
    std::fs::write(&key, [0u8, 1, 2, 255]).unwrap();
    problems(&config).unwrap();
}

#[test]
fn a_previous_federation_key_is_another_file_checked_like_the_current_one() {
    let previous = |file: &str| {
        federated().replace(
            "key_file = \"keys/here.key\"\n",
            &format!("key_file = \"keys/here.key\"\nprevious_key_file = \"{file}\"\n"),
        )
    };
    let config = parse(&previous("keys/here-2026.key")).unwrap();
    let f = config.federation.as_ref().unwrap();
    assert_eq!(f.previous_key_file.as_ref().unwrap().0, std::path::Path::new("dir/keys/here-2026.key"));
    assert_eq!(
        errors(&previous("keys/../keys/here.key").replace("keys/../keys/here.key", "keys/here.key")),
        [
            "dir/t.toml:44:21: federation.previous_key_file: the previous key is the current `key_file`: name the key signed with before"
        ]
    );
    let missing = config.check_secrets().unwrap_err();
    let texts: Vec<String> = missing.iter().map(|e| e.to_string()).collect();
    assert!(texts.iter().any(|t| t.contains("federation.key_file: cannot read key file")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("federation.previous_key_file: cannot read key file")), "{texts:?}");
}

#[test]
fn peer_ids_and_urls_are_unique_and_not_this_instance() {
    let text = federated()
        + &format!(
            "\n[[peers]]\nid = \"p\"\nurl = \"https://q.example/\"\npublic_keys = [\"{KEY_Q}\"]\n\n[[peers]]\nid = \"here\"\nurl = \"https://P.example/c2c\"\npublic_keys = [\"{KEY_R}\"]\n"
        );
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:66:6: peers[1].id: duplicate peer id \"p\" (first used on line 46)",
            "dir/t.toml:71:6: peers[2].id: \"here\" is this instance's own id ([bridge] instance); a peer is another instance",
            "dir/t.toml:72:7: peers[2].url: duplicate peer url \"https://P.example/c2c\" (first used on line 47)",
        ]
    );
    // Another base path on the same host is another instance (paths compare exactly).
    let other_path = federated()
        + &format!("\n[[peers]]\nid = \"q\"\nurl = \"https://p.example/C2C\"\npublic_keys = [\"{KEY_Q}\"]\n");
    assert_eq!(parse(&other_path).unwrap().peers.len(), 2);
}

#[test]
fn peer_urls_are_https_or_http_on_loopback() {
    let url = |u: &str| federated().replace("https://p.example/c2c/", u);
    assert_eq!(parse(&url("http://127.0.0.1:8481/")).unwrap().peers[0].url, "http://127.0.0.1:8481");
    parse(&url("http://[::1]:8481")).unwrap();
    assert_eq!(
        errors(&url("http://p.example/")),
        [
            "dir/t.toml:47:7: peers[0].url: http:// sends what peers exchange in clear text; it is only allowed with a loopback host (127.0.0.1, ::1, localhost), not \"p.example\": use https://"
        ]
    );
    assert_eq!(
        errors(&url("https://p.example/?x=1")),
        [
            "dir/t.toml:47:7: peers[0].url: \"https://p.example/?x=1\" has a query or fragment; a peer's url is the base its /peer/v1/ routes go under"
        ]
    );
    assert_eq!(
        errors(&url("p.example")),
        ["dir/t.toml:47:7: peers[0].url: \"p.example\" must start with http:// or https://"]
    );
    assert_eq!(
        errors(&federated().replace("url = \"https://p.example/c2c/\"\n", "")),
        ["dir/t.toml:45:1: peers[0]: missing required key `url`"]
    );
}

#[test]
fn peer_public_keys_are_whpk_and_the_base64_of_32_bytes() {
    let keys = |list: &str| federated().replace(&format!("[\"{KEY_P}\"]"), list);
    let shape = "(expected \"whpk_\" and the base64 of the peer's 32-byte ed25519 key, as GET /peer/v1/keys on the peer shows it)";
    let unpadded = KEY_P.trim_end_matches('=');
    assert_eq!(parse(&keys(&format!("[\"{unpadded}\", \"{KEY_Q}\"]"))).unwrap().peers[0].public_keys.len(), 2);
    let text = keys(&format!(
        "[\"whpk_...\", \"{}\", \"whpk_AAAA\", \"{}B\", \"whsec_c2VjcmV0\", \"{KEY_P}\", \"{KEY_P}\"]",
        &KEY_P[5..],
        &KEY_P[..47]
    ));
    assert_eq!(
        errors(&text),
        [
            format!(
                "dir/t.toml:48:16: peers[0].public_keys[0]: \"whpk_...\" is not a peer public key: '.' is not a base64 character {shape}"
            ),
            format!(
                "dir/t.toml:48:28: peers[0].public_keys[1]: \"{}\" is not a peer public key: it does not start with \"whpk_\" {shape}",
                &KEY_P[5..]
            ),
            format!(
                "dir/t.toml:48:76: peers[0].public_keys[2]: \"whpk_AAAA\" is not a peer public key: after \"whpk_\" comes the base64 of 3 bytes, not 32 {shape}"
            ),
            format!(
                "dir/t.toml:48:89: peers[0].public_keys[3]: \"{}B\" is not a peer public key: it is not valid base64 {shape}",
                &KEY_P[..47]
            ),
            format!(
                "dir/t.toml:48:141: peers[0].public_keys[4]: this is a webhook secret (whsec_...), and secrets never sit in the config file; a peer public key starts with \"whpk_\" {shape}"
            ),
            format!("dir/t.toml:48:212: peers[0].public_keys[6]: \"{KEY_P}\" is listed twice"),
        ]
    );
    assert_eq!(
        errors(&keys("[]")),
        [
            "dir/t.toml:48:15: peers[0].public_keys: pin at least one public key of the peer (GET /peer/v1/keys on the peer lists them)"
        ]
    );
    assert_eq!(
        errors(&federated().replace(&format!("public_keys = [\"{KEY_P}\"]\n"), "")),
        ["dir/t.toml:45:1: peers[0]: missing required key `public_keys`"]
    );
    // One key pinned for two peers would let either speak for the other's cities.
    let shared = federated()
        + &format!("\n[[peers]]\nid = \"q\"\nurl = \"https://q.example/\"\npublic_keys = [\"{KEY_Q}\", \"{KEY_P}\"]\n");
    assert_eq!(
        errors(&shared),
        [
            "dir/t.toml:68:69: peers[1].public_keys[1]: this key is already pinned for peer \"p\" (line 48); each instance signs with its own key"
        ]
    );
}

#[test]
fn a_city_hosted_by_a_peer_names_a_known_peer() {
    assert_eq!(
        errors(&federated().replace("peer = \"p\"", "peer = \"q\"")),
        ["dir/t.toml:54:8: cities[2].peer: no peer with id \"q\" (declare it in [[peers]])"]
    );
    // Nothing else is asked of it for a peer that is not an id.
    assert_eq!(
        errors(&federated().replace("peer = \"p\"", "peer = \"p q\"")),
        [
            "dir/t.toml:54:8: cities[2].peer: \"p q\" is not a valid id (up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)"
        ]
    );
}

#[test]
fn a_city_hosted_by_a_peer_has_no_contacts_or_endpoints_here() {
    let text = federated().replace(
        "peer = \"p\"\n",
        "peer = \"p\"\ntimezone = \"Europe/Berlin\"\nlanguages = [\"de\"]\nkind = \"lga\"\nwebhook = { url = \"https://c.example/\", secret_env = \"C\" }\nworking_hours = \"08:00-16:00\"\nholidays = [\"2027-10-03\"]\n  [[cities.contacts]]\n  id = \"c1\"\n  name = \"C One\"\n  role = \"IR\"\n",
    );
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:58:11: cities[2].webhook: a city hosted by peer \"p\" has no contacts or endpoints here (its home instance holds them)",
            "dir/t.toml:59:17: cities[2].working_hours: a city hosted by peer \"p\" has its working time on its home instance, which sends its reminders",
            "dir/t.toml:60:12: cities[2].holidays: a city hosted by peer \"p\" has its working time on its home instance, which sends its reminders",
            "dir/t.toml:61:3: cities[2].contacts: a city hosted by peer \"p\" has no contacts or endpoints here (its home instance holds them)",
            "dir/t.toml:68:8: partnerships[1].kind: a city-city partnership is between two cities, but \"c\" is of kind \"lga\" (use kind = \"city-lga\")",
        ]
    );
    // Its name, country, kind, time zone and languages are what this instance knows of it.
    let described =
        federated().replace("peer = \"p\"\n", "peer = \"p\"\ntimezone = \"Europe/Berlin\"\nlanguages = [\"de\"]\n");
    let config = parse(&described).unwrap();
    let c = config.city("c").unwrap();
    assert_eq!((c.timezone, c.languages.as_slice()), (chrono_tz::Europe::Berlin, ["de".to_string()].as_slice()));
    assert_eq!(c.working, config.bridge.working);
}

#[test]
fn a_member_hosted_by_a_peer_has_no_agreed_channel_here() {
    assert_eq!(
        errors(&federated().replace("channels = { a = \"email\" }", "channels = { a = \"email\", c = \"email\" }")),
        [
            "dir/t.toml:63:27: partnerships[1].channels.c: \"c\" is hosted by peer \"p\": its agreed channel is set on its home instance"
        ]
    );
    // Members hosted here still need theirs.
    assert_eq!(
        errors(&federated().replace("channels = { a = \"email\" }", "channels = {}")),
        [
            "dir/t.toml:63:12: partnerships[1].channels: no agreed channel for member \"a\" (add a = \"email\", \"matrix\" or \"webhook\")"
        ]
    );
}

#[test]
fn a_partnership_needs_a_member_hosted_here() {
    let text = federated().replace(
        "[[partnerships]]\nid = \"ac\"",
        "[[cities]]\nid = \"d\"\nname = \"D\"\ncountry = \"DE\"\npeer = \"p\"\n\n[[partnerships]]\nid = \"ac\"",
    );
    let text = text.replace("members = [\"a\", \"c\"]", "members = [\"c\", \"d\"]").replace("{ a = \"email\" }", "{}");
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:65:11: partnerships[1].members: every member is hosted by a peer: at least one member must be hosted here (a partnership spanning instances is declared on each instance that hosts a member)"
        ]
    );
}

#[test]
fn a_member_hosted_by_a_peer_has_no_matrix_room_here() {
    let text = federated()
        .replace("channels = { a = \"email\" }", "channels = { a = \"email\" }\nmatrix_rooms = { c = \"!r:x\" }");
    assert_eq!(
        errors(&text),
        [
            "dir/t.toml:64:18: partnerships[1].matrix_rooms.c: \"c\" is hosted by peer \"p\", so it has no Matrix room here"
        ]
    );
}

#[test]
fn deliverables_and_kpis_may_name_a_member_hosted_by_a_peer() {
    let text = federated()
        + "  [[partnerships.deliverables]]\n  title = \"Academy plan\"\n  owner = \"c\"\n  due = 2027-03-01\n"
        + "  [[partnerships.kpis]]\n  measure = \"messages\"\n  target = 5\n  member = \"c\"\n";
    let config = parse(&text).unwrap();
    let partnership = config.partnership("ac").unwrap();
    assert_eq!(partnership.deliverables[0].owner, "c");
    assert_eq!(partnership.kpis[0].member.as_deref(), Some("c"));
    assert_eq!(
        errors(&text.replace("owner = \"c\"", "owner = \"b\"")),
        [
            "dir/t.toml:66:11: partnerships[1].deliverables[0].owner: the owner must be a member of this partnership; \"b\" is not"
        ]
    );
}

#[test]
fn the_store_cache_is_a_size_with_a_unit_within_bounds() {
    let with =
        |keys: &str| BASE.replace("listen = \"127.0.0.1:8480\"\n", &format!("listen = \"127.0.0.1:8480\"\n{keys}"));
    assert_eq!(parse(BASE).unwrap().bridge.store_cache, 1 << 20, "1 MiB by default");
    assert_eq!(parse(&with("store_cache = \"64MiB\"\n")).unwrap().bridge.store_cache, 64 << 20);
    assert_eq!(
        parse(&with("store_cache = \"512KB\"\n")).map(|_| ()),
        Err(vec!["dir/t.toml:5:15: bridge.store_cache: \"512KB\" must be from 1MiB to 16GiB".to_string()])
    );
    assert_eq!(
        errors(&with("store_cache = \"64\"\n")),
        [
            "dir/t.toml:5:15: bridge.store_cache: \"64\" is not a size with a unit (e.g. \"16MiB\", \"512KiB\", \"1GiB\")"
        ]
    );
}

#[test]
fn retention_keeps_everything_by_default_and_bounds_the_dedupe_window() {
    let with =
        |keys: &str| BASE.replace("listen = \"127.0.0.1:8480\"\n", &format!("listen = \"127.0.0.1:8480\"\n{keys}"));
    let day = std::time::Duration::from_secs(86_400);
    let b = parse(BASE).unwrap().bridge;
    assert_eq!((b.retention, b.dedupe_window), (None, None), "nothing expires unless asked");
    let b = parse(&with("retention = \"400d\"\n")).unwrap().bridge;
    assert_eq!((b.retention, b.dedupe_window), (Some(400 * day), Some(30 * day)), "30 days by default");
    let b = parse(&with("retention = \"5s\"\n")).unwrap().bridge;
    let five = std::time::Duration::from_secs(5);
    assert_eq!((b.retention, b.dedupe_window), (Some(five), Some(five)), "never longer than retention");
    let b = parse(&with("dedupe_window = \"10d\"\n")).unwrap().bridge;
    assert_eq!((b.retention, b.dedupe_window), (None, Some(10 * day)), "dedupe answers may expire alone");
    assert_eq!(
        errors(&with("retention = \"10d\"\ndedupe_window = \"20d\"\n")),
        [
            "dir/t.toml:6:17: bridge.dedupe_window: must not be longer than retention (10days): a dedupe answer points to a message retention deletes"
        ]
    );
    assert_eq!(errors(&with("retention = \"500ms\"\n")), ["dir/t.toml:5:13: bridge.retention: must be at least 1s"]);
}

#[test]
fn a_config_naming_no_engine_keeps_the_store_it_finds_and_makes_new_ones_on_redb() {
    let top = std::env::temp_dir().join(format!("c2c-engine-{}", std::process::id()));
    let store = top.join("store");
    std::fs::create_dir_all(&store).unwrap();
    assert_eq!(c2c_config::StoreEngine::found_in(&store), c2c_config::StoreEngine::Redb, "empty: a new store");
    std::fs::write(store.join("store.redb"), b"").unwrap();
    assert_eq!(c2c_config::StoreEngine::found_in(&store), c2c_config::StoreEngine::Redb);
    std::fs::remove_file(store.join("store.redb")).unwrap();
    std::fs::write(store.join("db"), b"").unwrap();
    assert_eq!(c2c_config::StoreEngine::found_in(&store), c2c_config::StoreEngine::Sled, "sled's files: kept on sled");
    std::fs::remove_dir_all(&top).unwrap();
    assert_eq!(parse(BASE).unwrap().bridge.store, c2c_config::StoreEngine::Redb, "no store under dir/: redb");
}
