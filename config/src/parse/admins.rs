//! `[[admins]]`: an id, a token (`token_env` / `token_file`), and either `cities = [...]` (known
//! city ids) or `scope = "all"`.

use std::collections::HashMap;

use crate::diag::Diag;
use crate::formats::check_id;
use crate::location::join_index;
use crate::model::{Admin, AdminScope, Bridge, City};
use crate::reader::Table;

/// Every `[[admins]]` entry that is sound; each problem is reported where it stands (an entry
/// with one is left out, and the config is refused anyway).
pub(super) fn admins(diag: &mut Diag<'_>, tables: Vec<Table<'_, '_>>, bridge: &Bridge, cities: &[City]) -> Vec<Admin> {
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for t in tables {
        let id_path = t.child("id");
        let admin = admin(diag, t, cities);
        let Some(admin) = admin else { continue };
        if admin.id == Admin::BRIDGE_ID && bridge.admin_token.is_some() {
            diag.value_error(
                &id_path,
                format!(
                    "\"{}\" is the id of the admin that [bridge] admin_token_* names; choose another",
                    Admin::BRIDGE_ID
                ),
            );
            continue;
        }
        if let Some(line) = first_line.get(&admin.id) {
            diag.value_error(&id_path, format!("duplicate admin id {:?} (first used on line {line})", admin.id));
            continue;
        }
        first_line.insert(admin.id.clone(), diag.value_at(&id_path).line);
        out.push(admin);
    }
    out
}

fn admin(diag: &mut Diag<'_>, mut t: Table<'_, '_>, known: &[City]) -> Option<Admin> {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let token = t.secret(diag, "token", true);
    let (cities_path, scope_path) = (t.child("cities"), t.child("scope"));
    let cities = t.opt_str_list(diag, "cities");
    let all = t.opt_parsed(diag, "scope", |s| match s {
        "all" => Ok(()),
        other => {
            Err(format!("{other:?} is not a scope: write scope = \"all\", or name the cities with cities = [...]"))
        }
    });
    let scope = match (cities, all) {
        (Some(_), Some(())) => {
            diag.key_error(&scope_path, "give either `cities` or `scope = \"all\"`, not both");
            None
        }
        (None, Some(())) => Some(AdminScope::All),
        (Some(cities), None) => self::cities(diag, &cities_path, cities, known),
        (None, None) => {
            if !diag.is_present(&cities_path) && !diag.is_present(&scope_path) {
                diag.value_error(t.path(), "missing `cities = [...]` (the cities it administers) or `scope = \"all\"`");
            }
            None
        }
    };
    t.finish(diag);
    Some(Admin { id: id?, token: token?, scope: scope? })
}

/// The city list: known ids, each once, at least one.
fn cities(diag: &mut Diag<'_>, path: &str, cities: Vec<String>, known: &[City]) -> Option<AdminScope> {
    if cities.is_empty() {
        diag.value_error(path, "name at least one city (or write scope = \"all\")");
        return None;
    }
    let mut sound = true;
    for (i, city) in cities.iter().enumerate() {
        let at = join_index(path, i);
        if diag.has_error(&at) {
            sound = false;
        } else if cities[..i].contains(city) {
            diag.value_error(&at, format!("{city:?} is listed twice"));
            sound = false;
        } else if !known.iter().any(|c| c.id == *city) {
            diag.value_error(&at, format!("no city with id {city:?}"));
            sound = false;
        }
    }
    sound.then_some(AdminScope::Cities(cities))
}
