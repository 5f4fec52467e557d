//! `[federation]` (this instance's signing key) and `[[peers]]` (the instances it federates
//! with, and their pinned public keys). What ties them to `[bridge] instance` and to the cities
//! peers host is checked by `validate`.

use crate::diag::Diag;
use crate::formats::{check_id, check_peer_url, check_public_key};
use crate::location::join_index;
use crate::model::{Federation, Peer};
use crate::reader::Table;

pub(super) fn federation(diag: &mut Diag<'_>, root: &mut Table<'_, '_>) -> Option<Federation> {
    let mut t = root.opt_table(diag, "federation")?;
    t.refuse_inline(diag, "key", "`key_file` (a file)");
    let path = t.child("key_file");
    let key_file = t.req_parsed(diag, "key_file", |s| {
        if s.trim().is_empty() { Err("must name a file".to_string()) } else { Ok(s.to_string()) }
    });
    let previous_path = t.child("previous_key_file");
    let previous = t.opt_parsed(diag, "previous_key_file", |s| {
        if s.trim().is_empty() { Err("must name a file".to_string()) } else { Ok(s.to_string()) }
    });
    t.finish(diag);
    let previous_key_file = previous.map(|p| (diag.resolve(&p), diag.key_at(&previous_path)));
    if let Some((previous, _)) = &previous_key_file
        && key_file.as_ref().is_some_and(|k| diag.resolve(k) == *previous)
    {
        diag.value_error(&previous_path, "the previous key is the current `key_file`: name the key signed with before");
    }
    Some(Federation { key_file: diag.resolve(&key_file?), key_file_at: diag.key_at(&path), previous_key_file })
}

/// Every `[[peers]]` entry, in file order; one with problems is reported and kept with what
/// parsed, so that the indices of the others match the file.
pub(super) fn peers(diag: &mut Diag<'_>, root: &mut Table<'_, '_>) -> Vec<Peer> {
    root.table_array(diag, "peers").into_iter().map(|t| peer(diag, t)).collect()
}

fn peer(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Peer {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let url = t.req_parsed(diag, "url", |s| check_peer_url(s).map(|()| s.trim_end_matches('/').to_string()));
    let keys_path = t.child("public_keys");
    let public_keys = t.req_str_list(diag, "public_keys").unwrap_or_default();
    check_public_keys(diag, &keys_path, &public_keys);
    t.finish(diag);
    Peer { id: id.unwrap_or_default(), url: url.unwrap_or_default(), public_keys }
}

/// Each key's shape, none twice, at least one.
fn check_public_keys(diag: &mut Diag<'_>, path: &str, keys: &[String]) {
    if keys.is_empty() && diag.is_present(path) && !diag.has_error(path) {
        diag.value_error(path, "pin at least one public key of the peer (GET /peer/v1/keys on the peer lists them)");
    }
    for (i, key) in keys.iter().enumerate() {
        let at = join_index(path, i);
        if diag.has_error(&at) {
            continue;
        }
        if let Err(message) = check_public_key(key) {
            diag.value_error(&at, message);
        } else if keys[..i].contains(key) {
            diag.value_error(&at, format!("{key:?} is listed twice"));
        }
    }
}
