//! The bridge configs the benchmarks run on, built from a few parts: the `[bridge]` section,
//! the three cities (one contact each) and a two-member partnership; for two instances, the
//! `[federation]` section with its one peer, and a city that peer hosts.

use std::net::SocketAddr;

/// `[bridge]` listening on `addr` (with `bridge_extra` lines), the webhook connector, and the
/// `connectors` sections given.
pub fn bridge(addr: SocketAddr, bridge_extra: &str, connectors: &str) -> String {
    format!(
        "[bridge]\nname = \"bench\"\ndata_dir = \"data\"\nlisten = \"{addr}\"\nadmin_token_env = \"C2C_BENCH_ADMIN_TOKEN\"\n{bridge_extra}\n\n[connectors.webhook]\n{connectors}\n"
    )
}

/// `[connectors.email]` for the bridge's account `address` on the test mail server whose
/// `mail-server.sh start` environment is `env`: IMAPS and submission (STARTTLS) with its CA, the
/// password in `C2C_BENCH_MAIL_PW`, its authentication results trusted.
pub fn email_connector(env: &std::collections::HashMap<String, String>, address: &str) -> String {
    let (ca, imaps, submission) =
        (&env["C2C_MAIL_CA_FILE"], &env["C2C_MAIL_IMAPS_PORT"], &env["C2C_MAIL_SUBMISSION_PORT"]);
    let authserv = &env["C2C_MAIL_AUTHSERV_ID"];
    format!(
        r#"
[connectors.email]
address = "{address}"
imap = {{ host = "127.0.0.1", port = {imaps}, security = "tls", user = "{address}", password_env = "C2C_BENCH_MAIL_PW", ca_file = "{ca}" }}
smtp = {{ host = "127.0.0.1", port = {submission}, security = "starttls", user = "{address}", password_env = "C2C_BENCH_MAIL_PW", ca_file = "{ca}" }}
trusted_authserv_ids = ["{authserv}"]
"#
    )
}

/// The admin token of benchmark daemons (`/metrics` needs it).
pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";

/// A city's webhook line, delivering to the sink at `sink`.
pub fn webhook(sink: SocketAddr, city: &str) -> String {
    format!("webhook = {{ url = \"http://{sink}/{city}\", secret_env = \"C2C_BENCH_WHSEC\" }}")
}

/// One of the bench cities (`leeds`, `hangzhou`, `gifu`) with its one contact; `city_extra` goes
/// into the city (e.g. its webhook), `contact_extra` into the contact (an email or Matrix id).
pub fn city(id: &str, city_extra: &str, contact_extra: &str) -> String {
    let (name, country, languages, contact, person, role) = describe(id);
    format!(
        "\n[[cities]]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nlanguages = [{languages}]\n{city_extra}\n  \
         [[cities.contacts]]\n  id = \"{contact}\"\n  name = \"{person}\"\n  role = \"{role}\"\n  {contact_extra}\n"
    )
}

/// A bench city's name, country, languages, and its contact's id, name and role.
fn describe(id: &str) -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
    match id {
        "leeds" => ("Leeds", "GB", "\"en\"", "leeds-jo", "Jo Smith", "International Relations"),
        "hangzhou" => ("Hangzhou", "CN", "\"zh\", \"en\"", "hz-li", "Li Wei", "Foreign Affairs Office"),
        "gifu" => ("Gifu", "JP", "\"ja\", \"en\"", "gifu-sato", "Sato Hana", "International Exchange Division"),
        other => panic!("no bench city {other}"),
    }
}

/// One of the bench cities as hosted by the peer instance `peer`: no contacts, no endpoints.
pub fn peer_city(id: &str, peer: &str) -> String {
    let (name, country, ..) = describe(id);
    format!("\n[[cities]]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\npeer = \"{peer}\"\n")
}

/// `[federation]` signing with the key in `key_file`, and the one peer `peer` listening on
/// `addr` whose public key (`whpk_…`) is `public_key`.
pub fn federation(key_file: &std::path::Path, peer: &str, addr: SocketAddr, public_key: &str) -> String {
    format!(
        "\n[federation]\nkey_file = \"{}\"\n\n[[peers]]\nid = \"{peer}\"\nurl = \"http://{addr}\"\npublic_keys = [\"{public_key}\"]\n",
        key_file.display()
    )
}

/// The partnership `bench` between `members` as one instance declares it when only `local` is
/// hosted here (on `channel`): the other member's channel is its home instance's business.
pub fn partnership_local((a, b): (&str, &str), (local, channel): (&str, &str)) -> String {
    format!(
        "\n[[partnerships]]\nid = \"bench\"\nkind = \"city-city\"\nmembers = [\"{a}\", \"{b}\"]\nobjective = \"benchmark\"\n\
         language = \"en\"\nreply_within = \"5d\"\nchannels = {{ {local} = \"{channel}\" }}\n"
    )
}

/// The partnership `bench` between two cities, each on its channel.
pub fn partnership((a, a_channel): (&str, &str), (b, b_channel): (&str, &str)) -> String {
    format!(
        "\n[[partnerships]]\nid = \"bench\"\nkind = \"city-city\"\nmembers = [\"{a}\", \"{b}\"]\nobjective = \"benchmark\"\n\
         language = \"en\"\nreply_within = \"5d\"\nchannels = {{ {a} = \"{a_channel}\", {b} = \"{b_channel}\" }}\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parts_make_a_config_the_bridge_accepts() {
        let sink: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let text = [
            super::bridge(sink, "commit = \"group\"", ""),
            super::city("leeds", &super::webhook(sink, "leeds"), ""),
            super::city("hangzhou", &super::webhook(sink, "hangzhou"), ""),
            super::partnership(("leeds", "webhook"), ("hangzhou", "webhook")),
        ]
        .concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, &text).unwrap();
        let config = c2c_config::Config::load(&path);
        assert!(config.is_ok(), "{text}\n{:?}", config.err());
    }

    #[test]
    fn two_instances_accept_each_other_s_federation_configs() {
        use c2c_webhook::signature::asymmetric::SecretKey;
        use c2c_webhook::signature::key_file;
        let sink: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (a, b): (std::net::SocketAddr, std::net::SocketAddr) =
            ("127.0.0.1:10".parse().unwrap(), "127.0.0.1:11".parse().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let (key_a, key_b) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
        let (file_a, file_b) = (dir.path().join("a.key"), dir.path().join("b.key"));
        key_file::write(&file_a, &key_a, false).unwrap();
        key_file::write(&file_b, &key_b, false).unwrap();
        let config_a = [
            super::bridge(a, "instance = \"a\"", ""),
            super::city("leeds", &super::webhook(sink, "leeds"), ""),
            super::peer_city("hangzhou", "b"),
            super::federation(&file_a, "b", b, &key_b.public_key().to_string()),
            super::partnership_local(("leeds", "hangzhou"), ("leeds", "webhook")),
        ]
        .concat();
        let config_b = [
            super::bridge(b, "instance = \"b\"", ""),
            super::city("hangzhou", &super::webhook(sink, "hangzhou"), ""),
            super::peer_city("leeds", "a"),
            super::federation(&file_b, "a", a, &key_a.public_key().to_string()),
            super::partnership_local(("leeds", "hangzhou"), ("hangzhou", "webhook")),
        ]
        .concat();
        for (name, text) in [("a.toml", config_a), ("b.toml", config_b)] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let config = c2c_config::Config::load(&path);
            assert!(config.is_ok(), "{text}\n{:?}", config.err());
        }
    }
}
