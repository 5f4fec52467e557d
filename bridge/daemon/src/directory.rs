//! The directory: who to contact in which city, about which topics, for which partnership, on
//! which channel, in which languages, and whether it is working hours there now. The seed
//! report's most cited barrier is not knowing whom to contact in a partner city, and how.
//!
//! Read from the config alone (no store), so `c2c-bridge directory` works while the daemon runs;
//! `GET /api/directory` and `/who CITY [TOPIC]` (router/commands.rs) answer from the same
//! [`build`]. Its JSON is a public shape (`product.md`, "Directory and reports"): fields may be
//! added, never renamed. It never holds an endpoint, an address or a secret: the entry types
//! below have no field for one.
//!
//! What a reader may see is a [`Visible`] scope: everything (the CLI, an all-scope admin), or
//! the partnerships of some cities and their members (a city-scoped admin; the asker's city for
//! `/who`). The time is a parameter: the daemon's clock in production, a fixed one in tests.

use std::collections::BTreeSet;

use c2c_config::{Channel, City, Config, Partnership, Weekdays, WorkingTime};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The directory, filtered: `{"cities": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// In config order.
    pub cities: Vec<CityEntry>,
}

/// One city: where and when it is, who to contact, and in which partnerships on which channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CityEntry {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// IANA time zone, e.g. `Asia/Tokyo`.
    pub timezone: String,
    /// Now in the city's zone, RFC 3339 with its offset: `2027-01-06T14:05:00+09:00`.
    pub local_time: String,
    /// Whether now is inside the city's working time (hours, days, holidays).
    pub working_now: bool,
    pub languages: Vec<String>,
    /// `null` when the city is hosted here, else the id of the peer instance that hosts it
    /// (federation): its contacts and partnerships are what that instance said, or none when
    /// it was not asked or did not answer.
    pub instance: Option<String>,
    /// Its contacts (with a topic asked: only those who list it), in config order.
    pub contacts: Vec<ContactEntry>,
    /// The partnerships it is a member of (visible to the reader), in config order.
    pub partnerships: Vec<PartnershipEntry>,
    /// What only the text form shows.
    #[serde(skip)]
    text: CityText,
}

impl CityEntry {
    /// An entry a peer sent for a city it hosts, marked with that peer.
    pub fn from_peer(mut self, peer: &str) -> Self {
        self.instance = Some(peer.to_string());
        let local = DateTime::parse_from_rfc3339(&self.local_time).ok();
        self.text = CityText {
            clock: local.map(|t| t.format("%H:%M %a").to_string()).unwrap_or_default(),
            working: format!("hours kept by {peer}"),
            holiday: false,
        };
        self
    }
}

/// The text form's view of a city's time, which the JSON leaves to `local_time`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct CityText {
    /// `14:05 Wed`.
    clock: String,
    /// `09:00-17:00, mon-fri`.
    working: String,
    /// Today is one of its holidays.
    holiday: bool,
}

/// A nodal officer, as partners may see them: no email address, Matrix id or other endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEntry {
    pub id: String,
    pub name: String,
    pub role: String,
    pub languages: Vec<String>,
    pub topics: Vec<String>,
}

/// A partnership of the city: the channel the city agreed on in it (where its contacts get the
/// partnership's traffic), and the partnership's agreed language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnershipEntry {
    pub id: String,
    pub channel: Channel,
    pub language: String,
}

/// The filters of `directory` and `GET /api/directory`, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Only this city: its id or its name, case-insensitively.
    pub city: Option<String>,
    /// Only the members of this partnership, and only this partnership in their list.
    pub partnership: Option<String>,
    /// Only the contacts who list this topic (case-insensitively), and only the cities that
    /// have one.
    pub topic: Option<String>,
}

/// What a reader may see: these cities, and of their partnerships these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visible {
    pub cities: BTreeSet<String>,
    pub partnerships: BTreeSet<String>,
}

impl Visible {
    /// What the contacts or admins of `cities` may see: the partnerships those cities are
    /// members of, those cities, and every member of those partnerships.
    pub fn partners_of<'a>(config: &Config, cities: impl IntoIterator<Item = &'a str>) -> Visible {
        let mut visible = Visible::default();
        for city in cities {
            visible.cities.insert(city.to_string());
            for p in config.partnerships_of(city) {
                visible.partnerships.insert(p.id.clone());
                visible.cities.extend(p.members.iter().cloned());
            }
        }
        visible
    }

    fn city(&self, id: &str) -> bool {
        self.cities.contains(id)
    }

    fn partnership(&self, id: &str) -> bool {
        self.partnerships.contains(id)
    }
}

/// A city or partnership named by a filter that the config does not have, or that the reader
/// may not see (the same answer: no existence oracle).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    #[error("no city {0:?}")]
    City(String),
    #[error("no partnership {0:?}")]
    Partnership(String),
}

/// The directory at `now` for `query`, within `visible` (`None`: everything).
pub fn build(
    config: &Config,
    now: DateTime<Utc>,
    query: &Query,
    visible: Option<&Visible>,
) -> Result<Directory, NotFound> {
    let sees_city = |id: &str| visible.is_none_or(|v| v.city(id));
    let sees_partnership = |id: &str| visible.is_none_or(|v| v.partnership(id));
    let city = match query.city.as_deref() {
        Some(asked) => Some(find_city(config, asked, visible).ok_or_else(|| NotFound::City(asked.to_string()))?),
        None => None,
    };
    let partnership = match query.partnership.as_deref() {
        Some(asked) => Some(
            config
                .partnership(asked)
                .filter(|p| sees_partnership(&p.id))
                .ok_or_else(|| NotFound::Partnership(asked.to_string()))?,
        ),
        None => None,
    };
    let topic = query.topic.as_deref().map(topic_key).filter(|t| !t.is_empty());
    let cities = config
        .cities
        .iter()
        .filter(|c| sees_city(&c.id))
        .filter(|c| city.is_none_or(|only| only.id == c.id))
        .filter(|c| partnership.is_none_or(|p| p.has_member(&c.id)))
        .filter_map(|c| {
            let partnerships = config
                .partnerships_of(&c.id)
                .filter(|p| sees_partnership(&p.id) && partnership.is_none_or(|only| only.id == p.id))
                .filter_map(|p| partnership_entry(p, &c.id))
                .collect();
            city_entry(c, now, topic.as_deref(), partnerships)
        })
        .collect();
    Ok(Directory { cities })
}

/// The city `asked` names, by id or by name (case-insensitively, spaces as typed or not), among
/// those `visible`.
pub fn find_city<'c>(config: &'c Config, asked: &str, visible: Option<&Visible>) -> Option<&'c City> {
    let asked = words(asked);
    config
        .cities
        .iter()
        .filter(|c| visible.is_none_or(|v| v.city(&c.id)))
        .find(|c| words(&c.id) == asked || words(&c.name) == asked)
}

/// `/who`'s arguments read as a city and a topic: `/who Kuala Lumpur transport` arrives as city
/// `Kuala` and topic `Lumpur transport`, so the longest run of leading words that names a city
/// (among those `visible`) is the city and the rest the topic. `None` when no run names one.
pub fn find_city_and_topic<'c>(
    config: &'c Config,
    city: &str,
    topic: Option<&str>,
    visible: Option<&Visible>,
) -> Option<(&'c City, Option<String>)> {
    let all: Vec<&str> = std::iter::once(city).chain(topic.into_iter().flat_map(str::split_whitespace)).collect();
    (1..=all.len()).rev().find_map(|n| {
        let found = find_city(config, &all[..n].join(" "), visible)?;
        let rest = all[n..].join(" ");
        Some((found, (!rest.is_empty()).then_some(rest)))
    })
}

/// Lowercase, with runs of white space as one space: how names are compared.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A topic as typed, in the config's form: lowercase, words joined by `-` (`Public health` →
/// `public-health`).
pub fn topic_key(typed: &str) -> String {
    typed
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

/// The entry of `city` at `now`; `None` when a topic was asked and no contact lists it.
fn city_entry(
    city: &City,
    now: DateTime<Utc>,
    topic: Option<&str>,
    partnerships: Vec<PartnershipEntry>,
) -> Option<CityEntry> {
    let contacts: Vec<ContactEntry> = city
        .contacts
        .iter()
        .filter(|c| topic.is_none_or(|t| c.topics.iter().any(|mine| mine.to_lowercase() == t)))
        .map(|c| ContactEntry {
            id: c.id.clone(),
            name: c.name.clone(),
            role: c.role.clone(),
            languages: c.languages.clone(),
            topics: c.topics.clone(),
        })
        .collect();
    if topic.is_some() && contacts.is_empty() {
        return None;
    }
    let local = now.with_timezone(&city.timezone);
    Some(CityEntry {
        id: city.id.clone(),
        name: city.name.clone(),
        country: city.country.clone(),
        timezone: city.timezone.name().to_string(),
        local_time: local.to_rfc3339_opts(SecondsFormat::Secs, false),
        working_now: c2c_followup::hours::is_working(now, city.timezone, &city.working),
        languages: city.languages.clone(),
        instance: city.peer.clone(),
        contacts,
        partnerships,
        text: CityText {
            clock: local.format("%H:%M %a").to_string(),
            working: working_text(&city.working),
            holiday: city.working.holidays.contains(&local.date_naive()),
        },
    })
}

fn partnership_entry(p: &Partnership, city: &str) -> Option<PartnershipEntry> {
    Some(PartnershipEntry { id: p.id.clone(), channel: p.channel_of(city)?, language: p.language.clone() })
}

/// `09:00-17:00, mon-fri`; `all day, every day`.
fn working_text(working: &WorkingTime) -> String {
    let hours = if working.hours.is_all_day() { "all day".to_string() } else { working.hours.to_string() };
    format!("{hours}, {}", days_text(working.days))
}

/// Runs of consecutive days: `mon-fri`, `mon-wed, fri`, `every day`.
fn days_text(days: Weekdays) -> String {
    if days == Weekdays::ALL {
        return "every day".into();
    }
    let on: Vec<usize> = days.iter().map(|d| d.num_days_from_monday() as usize).collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for i in on {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => runs.push((i, i)),
        }
    }
    let name = |i: usize| Weekdays::NAMES[i];
    runs.iter()
        .map(|&(a, b)| if a == b { name(a).to_string() } else { format!("{}-{}", name(a), name(b)) })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The directory as an officer reads it:
///
/// ```text
/// Gifu (JP), 14:05 Wed (Asia/Tokyo), working hours now
///   Sato Hana, International Exchange Division — ja, en — topics: education, tourism
///   partnership heritage-cities: webhook, en
/// ```
pub fn render_text(directory: &Directory, query: &Query) -> String {
    if directory.cities.is_empty() {
        return match query.topic.as_deref().map(topic_key).filter(|t| !t.is_empty()) {
            Some(topic) => format!("No contact lists the topic “{topic}”.\n"),
            None => "No city matches.\n".to_string(),
        };
    }
    let mut out = String::new();
    for (i, city) in directory.cities.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let t = &city.text;
        let now = match (city.working_now, t.holiday) {
            (true, _) => "working hours now".to_string(),
            (false, true) => format!("outside working hours (a holiday; works {})", t.working),
            (false, false) => format!("outside working hours (works {})", t.working),
        };
        out.push_str(&format!("{} ({}), {} ({}), {now}", city.name, city.country, t.clock, city.timezone));
        match &city.instance {
            Some(peer) if city.contacts.is_empty() && city.partnerships.is_empty() => {
                out.push_str(&format!(" — hosted by {peer}, which did not say more\n"));
            }
            Some(peer) => out.push_str(&format!(" — hosted by {peer}\n")),
            None => out.push('\n'),
        }
        for c in &city.contacts {
            out.push_str(&format!("  {}, {}", c.name, c.role));
            if !c.languages.is_empty() {
                out.push_str(&format!(" — {}", c.languages.join(", ")));
            }
            if !c.topics.is_empty() {
                out.push_str(&format!(" — topics: {}", c.topics.join(", ")));
            }
            out.push('\n');
        }
        for p in &city.partnerships {
            out.push_str(&format!("  partnership {}: {}, {}\n", p.id, p.channel, p.language));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    use chrono::TimeZone;

    use super::*;

    /// The test world (see its header): five cities, four partnerships.
    pub(crate) const WORLD: &str = include_str!("../tests/golden/directory.toml");

    /// Wednesday 2027-01-06 05:05 UTC: 14:05 in Gifu, 05:05 in Leeds, a holiday in Lyon.
    pub(crate) fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 6, 5, 5, 0).unwrap()
    }

    pub(crate) fn world() -> Config {
        Config::parse(WORLD, Path::new("directory.toml")).unwrap()
    }

    fn golden(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
    }

    /// `actual` is the golden file `name`'s content; `UPDATE_EXPECT=1` rewrites the file
    /// instead (then review the diff by eye).
    fn assert_golden(name: &str, actual: &str) {
        let path = golden(name);
        if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(expected == actual, "{} differs:\n=== expected\n{expected}\n=== actual\n{actual}", path.display());
    }

    fn query(city: Option<&str>, partnership: Option<&str>, topic: Option<&str>) -> Query {
        Query {
            city: city.map(str::to_string),
            partnership: partnership.map(str::to_string),
            topic: topic.map(str::to_string),
        }
    }

    fn ids(d: &Directory) -> Vec<String> {
        d.cities
            .iter()
            .map(|c| format!("{}: {}", c.id, c.contacts.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(" ")))
            .collect()
    }

    #[test]
    fn the_whole_directory_in_text_and_json_at_a_fixed_time() {
        let config = world();
        let all = build(&config, at(), &Query::default(), None).unwrap();
        assert_golden("directory.txt", &render_text(&all, &Query::default()));
        assert_golden("directory.json", &format!("{}\n", serde_json::to_string_pretty(&all).unwrap()));
    }

    #[test]
    fn the_json_has_the_product_shape_and_no_endpoint() {
        let config = world();
        let json = serde_json::to_value(build(&config, at(), &Query::default(), None).unwrap()).unwrap();
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
        let set = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(keys(&json), set(&["cities"]));
        let city_keys = set(&[
            "id",
            "name",
            "country",
            "timezone",
            "local_time",
            "working_now",
            "languages",
            "instance",
            "contacts",
            "partnerships",
        ]);
        for city in json["cities"].as_array().unwrap() {
            assert_eq!(keys(city), city_keys);
            for c in city["contacts"].as_array().unwrap() {
                assert_eq!(keys(c), set(&["id", "name", "role", "languages", "topics"]));
            }
            for p in city["partnerships"].as_array().unwrap() {
                assert_eq!(keys(p), set(&["id", "channel", "language"]));
            }
        }
        let text = json.to_string();
        for secret in ["@", "http", "X_", "127.0.0.1"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }

    #[test]
    fn local_time_and_working_now_follow_each_citys_zone_hours_and_holidays() {
        let config = world();
        let all = build(&config, at(), &Query::default(), None).unwrap();
        let when: Vec<(&str, &str, bool)> =
            all.cities.iter().map(|c| (c.id.as_str(), c.local_time.as_str(), c.working_now)).collect();
        assert_eq!(
            when,
            [
                ("leeds", "2027-01-06T05:05:00+00:00", false),
                ("hangzhou", "2027-01-06T13:05:00+08:00", true),
                ("gifu", "2027-01-06T14:05:00+09:00", true),
                ("kuala-lumpur", "2027-01-06T13:05:00+08:00", true),
                ("lyon", "2027-01-06T06:05:00+01:00", false),
            ]
        );
        // Gifu works until 17:15: at 17:14 it still does, at 17:15 no more.
        let gifu = |h, m| {
            let t = Utc.with_ymd_and_hms(2027, 1, 6, h, m, 0).unwrap();
            build(&config, t, &query(Some("gifu"), None, None), None).unwrap().cities[0].working_now
        };
        assert!(gifu(8, 14) && !gifu(8, 15));
        // A working Thursday in Lyon, the day after its holiday.
        let thursday = Utc.with_ymd_and_hms(2027, 1, 7, 9, 0, 0).unwrap();
        assert!(build(&config, thursday, &query(Some("lyon"), None, None), None).unwrap().cities[0].working_now);
    }

    #[test]
    fn filters_by_city_partnership_and_topic() {
        let config = world();
        let get = |q: Query| ids(&build(&config, at(), &q, None).unwrap());
        assert_eq!(get(query(Some("gifu"), None, None)), ["gifu: gifu-sato gifu-tanaka gifu-ito"]);
        assert_eq!(get(query(Some("kuala lumpur"), None, None)), ["kuala-lumpur: kl-aisyah"], "by name, any case");
        assert_eq!(get(query(Some("GIFU"), None, None)), ["gifu: gifu-sato gifu-tanaka gifu-ito"]);
        assert_eq!(
            get(query(None, None, Some("Education"))),
            ["gifu: gifu-sato gifu-tanaka", "lyon: lyon-martin"],
            "cities without a contact on the topic are left out"
        );
        assert_eq!(get(query(None, None, Some("smart city"))), ["kuala-lumpur: kl-aisyah"]);
        assert_eq!(get(query(None, None, Some("sewers"))), Vec::<String>::new());
        assert_eq!(get(query(None, Some("kl-leeds"), None)), ["leeds: leeds-jo", "kuala-lumpur: kl-aisyah"]);
        assert_eq!(get(query(Some("lyon"), Some("kl-leeds"), None)), Vec::<String>::new());
        assert_eq!(
            get(query(None, Some("heritage-cities"), Some("libraries"))),
            ["leeds: leeds-jo", "hangzhou: hz-li"]
        );

        // With a partnership, only it is listed for each member.
        let d = build(&config, at(), &query(None, Some("hangzhou-leeds"), None), None).unwrap();
        let listed: Vec<String> = d
            .cities
            .iter()
            .flat_map(|c| c.partnerships.iter().map(move |p| format!("{} {} {} {}", c.id, p.id, p.channel, p.language)))
            .collect();
        assert_eq!(listed, ["leeds hangzhou-leeds email en", "hangzhou hangzhou-leeds matrix en"]);

        let text = render_text(
            &build(&config, at(), &query(Some("gifu"), None, Some("education")), None).unwrap(),
            &Query::default(),
        );
        assert_eq!(
            text,
            "Gifu (JP), 14:05 Wed (Asia/Tokyo), working hours now\n  \
             Sato Hana, International Exchange Division — ja, en — topics: education, tourism\n  \
             Tanaka Ken, Board of Education — ja — topics: education\n  \
             partnership heritage-cities: webhook, en\n  \
             partnership gifu-lyon: webhook, fr\n"
        );
        let none = query(None, None, Some("Sewers"));
        assert_eq!(
            render_text(&build(&config, at(), &none, None).unwrap(), &none),
            "No contact lists the topic “sewers”.\n"
        );
    }

    #[test]
    fn an_unknown_city_or_partnership_is_not_found() {
        let config = world();
        assert_eq!(
            build(&config, at(), &query(Some("atlantis"), None, None), None),
            Err(NotFound::City("atlantis".into()))
        );
        assert_eq!(
            build(&config, at(), &query(None, Some("nope"), None), None),
            Err(NotFound::Partnership("nope".into()))
        );
    }

    #[test]
    fn a_scope_shows_only_the_partners_and_partnerships_of_its_cities() {
        let config = world();
        let leeds = Visible::partners_of(&config, ["leeds"]);
        assert_eq!(leeds.cities, ["gifu", "hangzhou", "kuala-lumpur", "leeds"].map(String::from).into());
        assert_eq!(leeds.partnerships, ["hangzhou-leeds", "heritage-cities", "kl-leeds"].map(String::from).into());
        let d = build(&config, at(), &Query::default(), Some(&leeds)).unwrap();
        assert_eq!(
            d.cities.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["leeds", "hangzhou", "gifu", "kuala-lumpur"]
        );
        let gifu = d.cities.iter().find(|c| c.id == "gifu").unwrap();
        assert_eq!(
            gifu.partnerships.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["heritage-cities"],
            "not gifu-lyon"
        );
        // Outside the scope is the same as not there.
        assert_eq!(
            build(&config, at(), &query(Some("lyon"), None, None), Some(&leeds)),
            Err(NotFound::City("lyon".into()))
        );
        assert_eq!(
            build(&config, at(), &query(None, Some("gifu-lyon"), None), Some(&leeds)),
            Err(NotFound::Partnership("gifu-lyon".into()))
        );
    }

    #[test]
    fn who_reads_the_longest_run_of_words_that_names_a_city() {
        let config = world();
        let find = |city: &str, topic: Option<&str>| {
            find_city_and_topic(&config, city, topic, None).map(|(c, t)| (c.id.clone(), t))
        };
        assert_eq!(find("Kuala", Some("Lumpur")), Some(("kuala-lumpur".into(), None)));
        assert_eq!(find("kuala", Some("lumpur smart city")), Some(("kuala-lumpur".into(), Some("smart city".into()))));
        assert_eq!(find("kuala-lumpur", Some("transport")), Some(("kuala-lumpur".into(), Some("transport".into()))));
        assert_eq!(find("Gifu", Some("education")), Some(("gifu".into(), Some("education".into()))));
        assert_eq!(find("Kuala", None), None);
        assert_eq!(find("atlantis", Some("education")), None);
        let leeds = Visible::partners_of(&config, ["leeds"]);
        assert!(find_city_and_topic(&config, "lyon", None, Some(&leeds)).is_none(), "not a partner of Leeds");
    }

    #[test]
    fn days_are_written_as_runs() {
        let days = |names: &[&str]| names.iter().map(|n| Weekdays::parse_day(n).unwrap()).collect::<Weekdays>();
        assert_eq!(days_text(Weekdays::MON_FRI), "mon-fri");
        assert_eq!(days_text(Weekdays::ALL), "every day");
        assert_eq!(days_text(days(&["mon", "tue", "wed", "fri"])), "mon-wed, fri");
        assert_eq!(days_text(days(&["sun"])), "sun");
        assert_eq!(working_text(&WorkingTime::always()), "all day, every day");
    }
}
