use super::*;

#[test]
fn dsn_keyword_and_uri_forms() {
    assert_eq!(dsn_keys("host=127.0.0.1 port=5432 user=postgres").unwrap(), ["host", "port", "user"]);
    assert!(dsn_keys("host=h password=secret").unwrap().contains(&"password".into()));
    assert!(dsn_keys("host = h  PASSWORD = 'se cr\\'et'").unwrap().contains(&"password".into()));
    assert!(dsn_keys("application_name='a b' host=h").unwrap() == ["application_name", "host"]);
    assert!(dsn_keys("postgres://u:pw@h:5432/db").unwrap().contains(&"password".into()));
    assert!(dsn_keys("postgresql://h/db?password=x").unwrap().contains(&"password".into()));
    assert!(!dsn_keys("postgres://u@h/db").unwrap().contains(&"password".into()));
    assert!(dsn_keys("").is_err());
    assert!(dsn_keys("host").is_err());
    assert!(dsn_keys("host='unterminated").is_err());
}

#[test]
fn host_port_forms() {
    assert_eq!(host_port("127.0.0.1:26379"), Ok(26379));
    assert_eq!(host_port("sentinel-0.redis:26379"), Ok(26379));
    assert_eq!(host_port("[::1]:26379"), Ok(26379));
    assert!(host_port("127.0.0.1").is_err());
    assert!(host_port(":26379").is_err());
    assert!(host_port("h:0").is_err());
    assert!(host_port("h:99999").is_err());
    assert!(host_port("::1:26379").is_err());
}

fn problems(text: &str) -> Vec<String> {
    let file = Path::new("w.toml");
    match super::super::load::parse_config_all(text, file) {
        Ok(_) => vec![],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn notify_rules() {
    let ok = "[[notify]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"HOOK\"\n\
              [[notify]]\nname = \"sp\"\nkind = \"command\"\ncommand = [\"tee\", \"/tmp/x\"]\n";
    assert_eq!(problems(ok), Vec::<String>::new());
    let p = problems(
        "[[notify]]\nname = \"ops\"\nkind = \"pager\"\n\
         [[notify]]\nname = \"ops\"\nkind = \"slack\"\n\
         [[notify]]\nname = \"c\"\nkind = \"command\"\ncommand = []\n\
         [[notify]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"ftp://hooks.example.com/T0/SECRET\"\n",
    );
    assert_eq!(p.len(), 5, "{p:#?}");
    assert_eq!(p[0], "w.toml:3:8: unknown notify kind `pager`: expected `slack`, `webhook` or `command`");
    assert!(p[1].starts_with("w.toml:5:8: duplicate notify target `ops`"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:6:8: a webhook target needs `url_env`"), "{p:#?}");
    assert!(p[3].starts_with("w.toml:9:8: a `command` target needs"), "{p:#?}");
    assert!(p[4].starts_with("w.toml:14:7: `url` is not an http(s) URL"), "{p:#?}");
    assert!(!p.concat().contains("SECRET"), "{p:#?}");
}

#[test]
fn region_rules() {
    let p = problems(
        "[[regions]]\nname = \"a\"\nrole = \"primary\"\n\
         [[regions]]\nname = \"a\"\nrole = \"primary\"\n\
         [[regions]]\nname = \" \"\n",
    );
    assert_eq!(p.len(), 3, "{p:#?}");
    assert_eq!(p[0], "w.toml:5:8: duplicate region name `a` (first defined on line 2)");
    assert!(p[1].starts_with("w.toml:6:8: a second primary region (the first is on line 3)"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:8:8: region name is empty"), "{p:#?}");
}

#[test]
fn service_route53_and_sentinel_rules() {
    let p = problems(
        "[[regions]]\nname = \"r\"\n\
         [postgres]\nservice = { context = \"x\", namespace = \"db\", name = \"pg\" }\n\
         [route53]\nhosted_zone_id = \"Z1\"\nrecord = \"api.\"\ntype = \"MX\"\n\
         endpoint_url = \"ftp://user:secret@h\"\n\
         [sentinel]\nmaster = \"\"\naddrs = []\n",
    );
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(p[0].starts_with("w.toml:4:23: kube context `x`"), "{p:#?}");
    assert!(p[1].starts_with("w.toml:8:8: unknown record type `MX`"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:9:16: `endpoint_url` is not an http(s) URL"), "{p:#?}");
    assert!(!p[2].contains("secret"), "credentials echoed: {}", p[2]);
    assert!(p[3].starts_with("w.toml:11:10: `master` is empty"), "{p:#?}");
    assert!(p[4].starts_with("w.toml:12:9: `addrs` is empty"), "{p:#?}");
    // a region's kube_context, when given, is what contexts are checked against
    let ok = "[[regions]]\nname = \"r\"\nkube_context = \"ctx\"\n\
              [postgres]\nservice = { context = \"ctx\", namespace = \"db\", name = \"pg\" }\n";
    assert!(problems(ok).is_empty());
}

#[test]
fn route53_name_servers_and_dns_timeouts_are_checked_in_place() {
    let p = problems(
        "[route53]\nhosted_zone_id = \"Z1\"\nrecord = \"api.\"\n\
         name_servers = [\"127.0.0.1:5301\", \"ns1:99999\", \"bad host\"]\n\
         dns_recheck_after_ms = 0\n",
    );
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p[0].starts_with("w.toml:4:35: name server `ns1:99999`: port"), "{p:#?}");
    assert!(p[1].starts_with("w.toml:4:48: name server `bad host`: expected host or host:port"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:5:24: `dns_recheck_after_ms` is 0"), "{p:#?}");
    assert_eq!(name_server("ns1.example.net").unwrap(), ("ns1.example.net".into(), 53));
    assert_eq!(name_server("[::1]:5301").unwrap(), ("::1".into(), 5301));
    assert_eq!(name_server("192.0.2.53").unwrap(), ("192.0.2.53".into(), 53));
    assert!(name_server("").is_err() && name_server("http://x").is_err() && name_server("ns:0").is_err());
}

#[test]
fn drill_rto_target_must_be_positive() {
    let p = problems("[drill]\nrto_target_secs = 0\n");
    assert_eq!(p, ["w.toml:2:19: `rto_target_secs` is 0: expected a positive number of seconds"]);
    assert!(problems("[drill]\nrto_target_secs = 300\n").is_empty());
    let p = problems("[drill]\nrto_target = 300\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("w.toml:2:1: "), "{p:#?}");
}

#[test]
fn drill_settle_secs_must_be_1_to_3600() {
    assert_eq!(
        problems("[drill]\nsettle_secs = 0\n"),
        ["w.toml:2:15: `settle_secs` is 0: expected 1 to 3600 seconds"]
    );
    assert_eq!(problems("[drill]\nsettle_secs = 3601\n").len(), 1);
    assert!(problems("[drill]\nsettle_secs = 30\n").is_empty());
    let cfg: Config = toml::from_str("[drill]\nsettle_secs = 30\n").unwrap();
    assert_eq!((cfg.drill.settle_secs(), Config::default().drill.settle_secs()), (30, 10));
}

#[test]
fn approvals_rules() {
    let p =
        problems("[approvals]\nhigh_risk = 0\ntimeout_secs = 0\n[approvals.kinds]\npromot = 2\nfence = 9\n");
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(p[0].starts_with("w.toml:2:13: `high_risk` is 0: expected 1 to 5 people"), "{p:#?}");
    assert!(p[1].starts_with("w.toml:3:16: `timeout_secs` is 0"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:5:10: unknown operation kind `promot`"), "{p:#?}");
    assert!(p[3].starts_with("w.toml:6:9: `fence` is 9"), "{p:#?}");
    let ok = "[approvals]\nhigh_risk = 2\nobservers_may_approve = true\n[approvals.kinds]\npromote = 3\n";
    assert!(problems(ok).is_empty());
    let cfg: Config = toml::from_str(ok).unwrap();
    assert_eq!(cfg.approvals.timeout_secs(), 600);
    assert_eq!(cfg.approvals.kinds.get("promote"), Some(&3));
}

#[test]
fn commander_rules() {
    let p = problems(
        "[[regions]]\nname = \"r\"\nkube_context = \"ctx\"\n\
         [commander]\ncontext = \"other\"\nnamespace = \"Ops_1\"\nttl_secs = 1\n",
    );
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p[0].starts_with("w.toml:5:11: kube context `other`"), "{p:#?}");
    assert!(p[1].starts_with("w.toml:6:13: namespace `Ops_1` is not a DNS label"), "{p:#?}");
    assert!(p[2].starts_with("w.toml:7:12: `ttl_secs` is 1: expected 3 to 3600"), "{p:#?}");
    let half = problems("[commander]\nnamespace = \"ops\"\n");
    assert_eq!(half.len(), 1, "{half:#?}");
    assert!(half[0].starts_with("w.toml:2:13: `namespace` without `context`"), "{half:#?}");
    let ok = "[[regions]]\nname = \"r\"\nkube_context = \"ctx\"\n\
              [commander]\ncontext = \"ctx\"\nnamespace = \"ops\"\n";
    assert!(problems(ok).is_empty());
    assert!(problems("[commander]\nttl_secs = 10\n").is_empty());
}

#[test]
fn war_room_rules() {
    let p = problems("[war_room]\ncontext = \" \"\nnamespace = \"War_Room\"\n");
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("w.toml:2:11: `context` is empty"), "{p:#?}");
    assert!(p[1].starts_with("w.toml:3:13: namespace `War_Room` is not a DNS label"), "{p:#?}");
    let missing = problems("[war_room]\ncontext = \"mgmt\"\n");
    assert_eq!(missing.len(), 1, "namespace is required: {missing:#?}");
    assert!(problems("[war_room]\ncontext = \"mgmt\"\nnamespace = \"war-room\"\n").is_empty());
}

#[test]
fn http_urls() {
    assert!(http_url("https://api.example.com/health/live").is_ok());
    assert!(http_url("http://127.0.0.1:8080/x").is_ok());
    assert!(http_url("ftp://h/x").is_err());
    assert!(http_url("api.example.com/health").is_err());
    assert!(http_url("http://").is_err());
}
