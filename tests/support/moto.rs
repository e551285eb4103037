//! A moto server (Route 53 emulator) for the tests: started once per test binary on a free
//! loopback port, reset before each test, and killed with the test process.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_route53::Client;
use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord, ResourceRecordSet,
    RrType,
};

const INSTALL_HINT: &str = "moto is needed for these tests: pip install 'moto[server]'";

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared moto server, reset, for the exclusive use of the calling test while the guard lives.
pub async fn exclusive() -> (tokio::sync::MutexGuard<'static, ()>, &'static Moto) {
    let guard = EXCLUSIVE.lock().await;
    let moto = MOTO.get_or_init(Moto::start);
    moto.reset();
    (guard, moto)
}

/// Static test credentials, set on the client config (never in the process environment).
pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "warroom-tests")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut cmd = match on_path("moto_server") {
            Some(bin) => Command::new(bin),
            None => {
                let importable = Command::new("python3")
                    .args(["-c", "import moto.server"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(importable, "{INSTALL_HINT}");
                let mut c = Command::new("python3");
                c.args(["-m", "moto.server"]);
                c
            }
        };
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdin(Stdio::null()).stdout(Stdio::null());
        cmd.stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child when
        // the thread that spawned it (a thread that lives as long as the process) ends.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let stderr = child.stderr.take();
                let _ = tx.send(Ok(()));
                // Drain stderr so moto never blocks on a full pipe; keep it for failures.
                let mut text = String::new();
                if let Some(mut e) = stderr {
                    let _ = e.read_to_string(&mut text);
                }
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(format!("cannot start moto: {e}. {INSTALL_HINT}")));
            }
        });
        rx.recv().expect("spawner thread").unwrap_or_else(|e| panic!("{e}"));
        let moto = Moto { endpoint: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while moto.request("GET", "/moto-api/").is_none() {
            assert!(
                Instant::now() < deadline,
                "moto did not answer on port {port} within 30 s. {INSTALL_HINT}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Minimal blocking HTTP request; the status code, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }

    /// Wipe all state (`POST /moto-api/reset`).
    pub fn reset(&self) {
        assert_eq!(self.request("POST", "/moto-api/reset"), Some(200), "moto reset failed");
    }

    /// An SDK client for seeding, with static test credentials.
    pub fn client(&self) -> Client {
        let conf = aws_sdk_route53::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials())
            .build();
        Client::from_conf(conf)
    }
}

/// What [`seed_weighted`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Hosted zone id without the `/hostedzone/` prefix.
    pub zone_id: String,
    /// Health check id per region, in the order given.
    pub health_checks: Vec<String>,
}

/// Create zone `example.com.`, one HTTP health check per region and a weighted A record set
/// per region (`SetIdentifier` = region, TTL 60, the health check attached).
pub async fn seed_weighted(moto: &Moto, record: &str, regions: &[(&str, i64, &str)]) -> Seeded {
    let client = moto.client();
    let zone = client
        .create_hosted_zone()
        .name("example.com.")
        .caller_reference(format!("warroom-{}", std::process::id()))
        .send()
        .await
        .expect("create hosted zone");
    let zone_id = zone.hosted_zone().expect("zone").id().trim_start_matches("/hostedzone/").to_string();
    let mut health_checks = Vec::new();
    let mut changes = Vec::new();
    for (i, (region, weight, ip)) in regions.iter().enumerate() {
        let hc = client
            .create_health_check()
            .caller_reference(format!("hc-{region}-{i}"))
            .health_check_config(
                HealthCheckConfig::builder()
                    .r#type(HealthCheckType::Http)
                    .ip_address(*ip)
                    .port(80)
                    .resource_path("/health/ready")
                    .build()
                    .expect("health check config"),
            )
            .send()
            .await
            .expect("create health check");
        let hc_id = hc.health_check().expect("health check").id().to_string();
        let rrs = ResourceRecordSet::builder()
            .name(record)
            .r#type(RrType::A)
            .set_identifier(*region)
            .weight(*weight)
            .ttl(60)
            .resource_records(ResourceRecord::builder().value(*ip).build().expect("record"))
            .health_check_id(&hc_id)
            .build()
            .expect("record set");
        changes.push(
            Change::builder().action(ChangeAction::Create).resource_record_set(rrs).build().expect("change"),
        );
        health_checks.push(hc_id);
    }
    client
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build().expect("batch"))
        .send()
        .await
        .expect("create record sets");
    Seeded { zone_id, health_checks }
}
