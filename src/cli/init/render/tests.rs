use std::path::Path;

use super::super::RegionChoice;
use super::super::kube::{PgService, Place, SentinelPod};
use super::super::route53::WeightedSet;
use super::*;
use crate::config::load::parse_config_all;

fn place(region: &str, name: &str) -> Place {
    Place {
        region: region.into(),
        context: format!("ctx-{region}"),
        namespace: "db".into(),
        name: name.into(),
    }
}

fn choices() -> Choices {
    Choices {
        kubeconfig: Some("/home/me/.kube/config".into()),
        regions: vec![
            RegionChoice { context: "ctx-east".into(), region: "east".into() },
            RegionChoice { context: "ctx-west".into(), region: "west".into() },
        ],
        skipped: vec!["decoy".into()],
        namespaces: vec!["db".into()],
        namespaces_defaulted: false,
        record: Some("api.example.com".into()),
    }
}

fn pg(region: &str, name: &str, user: Setting) -> PgPod {
    PgPod {
        at: place(region, name),
        ip: Some("10.0.0.1".into()),
        stable_name: None,
        port: Some(5432),
        user,
        dbname: Setting::Missing,
        data_dir: None,
        why: "image postgres:16".into(),
    }
}

fn findings() -> KubeFindings {
    KubeFindings {
        postgres: vec![
            pg("east", "pg-0", Setting::Value("app".into())),
            pg("west", "pg-0", Setting::Elsewhere("POSTGRES_USER".into())),
        ],
        services: vec![
            PgService { at: place("east", "pg-hl"), headless: true, selects: vec!["pg-0".into()] },
            PgService { at: place("east", "pg"), headless: false, selects: vec!["pg-0".into()] },
        ],
        sentinels: vec![SentinelPod {
            at: place("east", "redis-0"),
            addr: Some("10.0.0.9:26379".into()),
            master: Some("cache".into()),
            password_seen: true,
        }],
        redis: vec![],
        errors: vec!["cannot list pods in ctx-west/db: 403 password=hunter2\n\u{1b}[2J".into()],
    }
}

fn r53() -> Route53Findings {
    Route53Findings {
        record: "api.example.com.".into(),
        zone: Some(("Z123".into(), "example.com.".into())),
        record_type: Some("A".into()),
        sets: vec![
            WeightedSet {
                set_identifier: "api-east".into(),
                weight: 100,
                health_check_id: Some("hc-1".into()),
                region: Some("east".into()),
            },
            WeightedSet { set_identifier: "eu".into(), weight: 0, health_check_id: None, region: None },
        ],
        endpoint_url: Some("http://127.0.0.1:5000".into()),
        problems: vec![],
    }
}

#[test]
fn the_output_is_a_valid_config_with_what_was_found() {
    let text = render(&choices(), &findings(), Some(&r53()));
    let cfg = parse_config_all(&text, Path::new("warroom.toml")).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(cfg.regions.len(), 2);
    assert_eq!(cfg.regions[0].role, "primary");
    assert_eq!(cfg.regions[0].set_identifier.as_deref(), Some("api-east"));
    assert_eq!(cfg.regions[0].health_check_id.as_deref(), Some("hc-1"));
    assert_eq!(cfg.regions[1].set_identifier, None);
    let pg = cfg.postgres.unwrap();
    assert_eq!(pg.service.unwrap().name, "pg", "the ClusterIP Service over the headless one");
    let names: Vec<&str> = pg.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["pg-0", "pg-0-west"], "names stay unique");
    assert_eq!(pg.nodes[0].dsn, "host=10.0.0.1 port=5432 user=app dbname=postgres connect_timeout=2");
    assert_eq!(pg.nodes[1].password_env.as_deref(), Some(PG_PASSWORD_ENV));
    let s = cfg.sentinel.unwrap();
    assert_eq!((s.master.as_str(), s.addrs.as_slice()), ("cache", &["10.0.0.9:26379".to_string()][..]));
    assert_eq!(s.password_env.as_deref(), Some(REDIS_PASSWORD_ENV));
    let r = cfg.route53.unwrap();
    assert_eq!((r.hosted_zone_id.as_str(), r.record.as_str()), ("Z123", "api.example.com."));
    assert!(text.contains("# not matched to a region: set identifier eu"), "{text}");
    assert!(text.contains("POSTGRES_USER in a Secret or ConfigMap"), "{text}");
    assert!(
        text.contains("# not found: a weighted record set of api.example.com. for this region"),
        "{text}"
    );
    assert!(text.contains("# kube contexts not used: decoy"), "{text}");
}

#[test]
fn backend_text_in_comments_is_redacted_and_kept_on_one_line() {
    let text = render(&choices(), &findings(), None);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    let line = text.lines().find(|l| l.contains("cannot list pods")).unwrap();
    assert!(line.starts_with("# ") && line.contains("␊"), "{line}");
}

#[test]
fn nothing_found_is_said_and_still_valid() {
    let empty = KubeFindings::default();
    let mut r = r53();
    r.zone = None;
    r.problems = vec!["no hosted zone whose name api.example.com. ends with (pass --zone-id)".into()];
    let sentinel_without_master = KubeFindings {
        sentinels: vec![SentinelPod { master: None, ..findings().sentinels[0].clone() }],
        ..empty.clone()
    };
    for kube in [&empty, &sentinel_without_master] {
        let text = render(&choices(), kube, Some(&r));
        let cfg = parse_config_all(&text, Path::new("w.toml")).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert!(cfg.postgres.is_none() && cfg.sentinel.is_none() && cfg.route53.is_none(), "{text}");
        assert!(text.contains("# not found: PostgreSQL pods in ctx-east/db, ctx-west/db"), "{text}");
        assert!(text.contains("# not found: no hosted zone"), "{text}");
    }
    let text = render(&choices(), &sentinel_without_master, None);
    assert!(text.contains("# not found: the monitored master name"), "{text}");
    assert!(text.contains("# [sentinel]"), "{text}");
}

#[test]
fn strings_are_quoted_for_toml() {
    assert_eq!(q(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(q("x\ny"), r#""x\u000Ay""#);
}
