//! Certificates and keys for a test control plane, made with the `openssl` command (argv only):
//! one CA that signs the API servers' serving certificate (for 127.0.0.1 and localhost) and any
//! client certificate a test asks for, plus the service-account signing key.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The CA and the files every API server of one control plane uses.
pub struct Pki {
    dir: PathBuf,
    /// CA certificate (PEM): the kubeconfig's `certificate-authority` and `--client-ca-file`.
    pub ca_cert: PathBuf,
    ca_key: PathBuf,
    /// Serving certificate and key for 127.0.0.1 / localhost.
    pub serving_cert: PathBuf,
    /// Serving key.
    pub serving_key: PathBuf,
    /// Service-account signing key (EC P-256, SEC1 PEM).
    pub sa_key: PathBuf,
    /// Its public key.
    pub sa_pub: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect(
        "the `openssl` command is missing: install it with `apt-get install openssl` (scripts/install-test-deps.sh does)",
    );
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn ec_key(dir: &Path, name: &str) -> PathBuf {
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]);
    dir.join(name)
}

impl Pki {
    /// Create the CA, the serving certificate and the service-account key under `dir`.
    pub fn create(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("pki dir");
        let ca_key = ec_key(dir, "ca.key");
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-subj",
                "/CN=warroom-test-ca",
                "-days",
                "3",
                "-out",
                "ca.crt",
            ],
        );
        let mut pki = Pki {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.crt"),
            ca_key,
            serving_cert: PathBuf::new(),
            serving_key: PathBuf::new(),
            sa_key: dir.join("sa.key"),
            sa_pub: dir.join("sa.pub"),
        };
        openssl(dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key"]);
        openssl(dir, &["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
        let (cert, key) = pki.sign(
            "serving",
            "/CN=kube-apiserver",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.serving_cert = cert;
        pki.serving_key = key;
        pki
    }

    /// A client certificate for `user` in `groups` (CN and O, as the API server reads them).
    pub fn client_cert(&self, user: &str, groups: &[&str]) -> (PathBuf, PathBuf) {
        let mut subject = format!("/CN={user}");
        for g in groups {
            subject.push_str(&format!("/O={g}"));
        }
        self.sign(&format!("client-{user}"), &subject, "extendedKeyUsage=clientAuth\n")
    }

    fn sign(&self, name: &str, subject: &str, extensions: &str) -> (PathBuf, PathBuf) {
        let key = ec_key(&self.dir, &format!("{name}.key"));
        let (csr, crt, ext) = (format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
        std::fs::write(self.dir.join(&ext), extensions).expect("write extensions");
        openssl(&self.dir, &["req", "-new", "-key", &format!("{name}.key"), "-subj", subject, "-out", &csr]);
        let ca_cert = self.ca_cert.to_string_lossy().into_owned();
        let ca_key = self.ca_key.to_string_lossy().into_owned();
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "3",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
        (self.dir.join(crt), key)
    }
}
