//! Against the AWS test lab (`tests/aws/moto.sh up`): a real moto_server with
//! opsdeck's patches, seeded by `tests/aws/seed.py`, driven through the
//! `opsdeck` binary and the AWS provider. Skipped with a reason when moto is
//! not running, unless OPSDECK_REQUIRE_AWS=1 demands it.
//!
//! Every test re-seeds (the seed data is relative to the current time) and
//! resets moto's request recorder, whose download is parsed here to count
//! what reached the server.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::e2e_tmux::{Tmux, binary};

mod account_config;
mod cost_meter;
mod drain_hang;
mod faults;
mod logs;
mod metrics_batch;
mod operate;
mod promote;
mod read_only;
mod ssh_ops;
mod sso;
mod status;

/// moto is shared: one test at a time.
static AWS: Mutex<()> = Mutex::new(());

pub struct AwsLab {
    vars: BTreeMap<String, String>,
    /// This test's User-Agent app id: the recorder lines it sent carry it, so
    /// requests of anything else using the same moto are told apart.
    tag: String,
    data: tempfile::TempDir,
    _guard: MutexGuard<'static, ()>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_file() -> PathBuf {
    repo().join("tests/aws/run/aws.env")
}

/// `KEY=value` lines of `aws.env` (values quoted with '…' when they hold spaces).
fn read_env(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// One HTTP/1.0 request to moto: (status, body).
pub fn http(url: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let addr = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let sock = addr
        .parse()
        .map_err(|e| std::io::Error::other(format!("{addr}: {e}")))?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn moto_answers(url: &str) -> bool {
    http(url, "HEAD", "/moto-api/recorder/download-recording").is_ok_and(|(s, _)| s == 200)
}

/// The running AWS lab, seeded afresh, or `None` (printed reason) when moto
/// is not running.
pub fn aws_or_skip(test: &str) -> Option<AwsLab> {
    let guard = AWS.lock().unwrap_or_else(|e| e.into_inner());
    let vars = read_env(&env_file());
    let up = vars.get("MOTO_URL").is_some_and(|u| moto_answers(u))
        && repo().join("tests/aws/run/venv/bin/python").exists();
    if !up {
        if std::env::var_os("OPSDECK_REQUIRE_AWS").is_some_and(|v| v == "1") {
            panic!(
                "{test}: moto is required (OPSDECK_REQUIRE_AWS=1) but not running: tests/aws/moto.sh up, then tests/aws/run/venv/bin/python tests/aws/seed.py"
            );
        }
        eprintln!("SKIPPED {test}: moto is not running (tests/aws/moto.sh up)");
        return None;
    }
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut lab = AwsLab {
        vars,
        tag: format!("opsdeck-it-{}-{run}", std::process::id()),
        data: tempfile::tempdir().expect("tempdir"),
        _guard: guard,
    };
    lab.seed(&[]);
    Some(lab)
}

/// One request that reached moto, as the recorder saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The SigV4 credential scope's service (`ec2`, `monitoring`, …), or
    /// `moto-api` for moto's own endpoints, or `?`.
    pub service: String,
    /// `Action=` of the form body or query, or the operation of `X-Amz-Target`, or `?`.
    pub action: String,
    /// The `app/…` id of the User-Agent (`AWS_SDK_UA_APP_ID`): which test sent it.
    pub app: Option<String>,
    /// The request body as text (form-encoded for the query protocols).
    pub body: String,
}

impl Recorded {
    /// An action that only reads (what the read-only guard lets through).
    pub fn reads(&self) -> bool {
        ["Describe", "Get", "List", "Filter"]
            .iter()
            .any(|p| self.action.starts_with(p))
            || self.action == "StartLiveTail"
    }
}

/// Standard base64 (with or without padding) to bytes; `None` when malformed.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `Action=` in a form-encoded string.
fn form_action(form: &str) -> Option<String> {
    form.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
}

/// Parses one line of moto's recording (README: "The request recorder").
pub fn parse_recorded(line: &str) -> Result<Recorded, String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line}"))?;
    let header = |name: &str| -> Option<String> {
        v["headers"].as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        })
    };
    let url = v["url"].as_str().unwrap_or("");
    let path = url
        .strip_prefix("http://")
        .and_then(|r| r.find('/').map(|i| &r[i..]))
        .unwrap_or(url);
    let service = match header("Authorization") {
        Some(auth) => auth
            .split("Credential=")
            .nth(1)
            .and_then(|scope| scope.split(['/', ',', ' ']).nth(3))
            .unwrap_or("?")
            .to_string(),
        None if path.starts_with("/moto-api") => "moto-api".to_string(),
        None => "?".to_string(),
    };
    let body = match (v["body"].as_str(), v["body_encoded"].as_bool()) {
        (Some(b), Some(true)) => {
            String::from_utf8_lossy(&base64_decode(b).ok_or("body is not base64")?).into_owned()
        }
        (Some(b), _) => b.to_string(),
        (None, _) => String::new(),
    };
    let action = header("X-Amz-Target")
        .and_then(|t| t.rsplit('.').next().map(str::to_string))
        .or_else(|| form_action(&body))
        .or_else(|| path.split_once('?').and_then(|(_, q)| form_action(q)))
        .unwrap_or_else(|| {
            if service == "moto-api" {
                path.to_string()
            } else {
                "?".to_string()
            }
        });
    let app = header("User-Agent").and_then(|ua| {
        ua.split_whitespace()
            .find_map(|w| w.strip_prefix("app/").map(str::to_string))
    });
    Ok(Recorded {
        service,
        action,
        app,
        body,
    })
}

impl AwsLab {
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("aws.env has no {key}"))
    }

    pub fn moto_url(&self) -> &str {
        self.var("MOTO_URL")
    }

    /// Re-seeds moto (`seed.py` with `args`), re-reads `aws.env` (ids are new)
    /// and resets the recorder.
    pub fn seed(&mut self, args: &[&str]) {
        let out = Command::new(repo().join("tests/aws/run/venv/bin/python"))
            .arg(repo().join("tests/aws/seed.py"))
            .args(args)
            .env("MOTO_URL", self.moto_url())
            .stdin(Stdio::null())
            .output()
            .expect("run seed.py");
        assert!(
            out.status.success(),
            "seed.py {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.vars = read_env(&env_file());
        self.reset_recorder();
    }

    pub fn reset_recorder(&self) {
        let (status, body) = http(
            self.moto_url(),
            "POST",
            "/moto-api/recorder/reset-recording",
        )
        .expect("reset the recorder");
        assert_eq!(status, 200, "reset-recording: {body}");
    }

    /// The requests this test's opsdeck processes sent since the last reset.
    pub fn recording(&self) -> Vec<Recorded> {
        let all = self.recording_all();
        let ours: Vec<Recorded> = all
            .iter()
            .filter(|r| r.app.as_deref() == Some(self.tag.as_str()))
            .cloned()
            .collect();
        let others = all.len() - ours.len();
        if others > 0 {
            eprintln!(
                "note: {others} recorded request(s) came from something else using this moto: {:?}",
                summary(
                    &all.into_iter()
                        .filter(|r| r.app.as_deref() != Some(self.tag.as_str()))
                        .collect::<Vec<_>>()
                )
            );
        }
        ours
    }

    /// Every request recorded since the last reset, whoever sent it.
    pub fn recording_all(&self) -> Vec<Recorded> {
        let (status, body) = http(
            self.moto_url(),
            "GET",
            "/moto-api/recorder/download-recording",
        )
        .expect("download the recording");
        assert_eq!(status, 200, "download-recording: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_recorded(l).unwrap_or_else(|e| panic!("recorder line: {e}")))
            .collect()
    }

    pub fn config(&self) -> PathBuf {
        PathBuf::from(self.var("OPSDECK_AWS_CONFIG"))
    }

    /// The lab's config with `edit` applied, written under this test's data dir.
    pub fn config_variant(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(self.config()).expect("aws lab config");
        let edited = edit(text.clone());
        assert_ne!(edited, text, "{name}: the edit changed nothing");
        let path = self.data.path().join(name);
        std::fs::write(&path, edited).expect("write config");
        path
    }

    /// The lab's config with `line` added to `[environments.prod.aws]`.
    pub fn config_with_aws_line(&self, name: &str, line: &str) -> PathBuf {
        self.config_variant(name, |t| {
            t.replacen(
                "[environments.prod.aws]\n",
                &format!("[environments.prod.aws]\n{line}\n"),
                1,
            )
        })
    }

    /// The environment an opsdeck process gets: the lab's credentials and
    /// region, and a fresh HOME and XDG dirs (no ~/.aws, no audit log of ours).
    pub fn process_env(&self) -> Vec<(String, String)> {
        let d = self.data.path();
        let mut env: Vec<(String, String)> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ]
        .iter()
        .map(|k| (k.to_string(), self.var(k).to_string()))
        .collect();
        env.push(("AWS_SDK_UA_APP_ID".to_string(), self.tag.clone()));
        for (k, sub) in [
            ("HOME", "home"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
        ] {
            let p = d.join(sub);
            let _ = std::fs::create_dir_all(&p);
            env.push((k.to_string(), p.display().to_string()));
        }
        env
    }

    pub fn command(&self, config: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.arg("--config").arg(config).args(args);
        for k in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_ENDPOINT_URL",
            "OPSDECK_READ_ONLY",
        ] {
            cmd.env_remove(k);
        }
        cmd.envs(self.process_env()).stdin(Stdio::null());
        cmd
    }

    pub fn opsdeck(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.opsdeck_with(&self.config(), args)
    }

    pub fn opsdeck_with(&self, config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.command(config, args).output().expect("run opsdeck");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `status --json` on `config`: (exit code, JSON, stderr, elapsed).
    pub fn status_with(&self, config: &Path) -> (Option<i32>, serde_json::Value, String, Duration) {
        let start = Instant::now();
        let (code, out, err) = self.opsdeck_with(config, &["status", "--json"]);
        let took = start.elapsed();
        let json = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("status --json: {e}\nstdout:\n{out}\nstderr:\n{err}"));
        (code, json, err, took)
    }

    /// Starts the console in a fresh shell of `t` on `config` with `args`,
    /// and waits for the fleet.
    pub fn console(&self, t: &Tmux, config: &Path, args: &str) {
        t.start_shell(120, 40);
        let env: String = self
            .process_env()
            .iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        t.type_text(&format!(
            "env -u AWS_PROFILE -u OPSDECK_READ_ONLY {env}{} --config {} {args}",
            binary(),
            config.display()
        ));
        t.keys(&["Enter"]);
        t.wait_for("web-c2", Duration::from_secs(20));
    }
}

/// The host `name` in a `status --json` document.
pub fn host<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    hosts(status)
        .into_iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {status}"))
}

/// Every host of every AZ.
pub fn hosts(status: &serde_json::Value) -> Vec<&serde_json::Value> {
    status["azs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|az| az["hosts"].as_array().into_iter().flatten())
        .collect()
}

/// The entry `name` of the list `list` (`databases`, `caches`, `alerts`).
pub fn node<'a>(status: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
    find_node(status, list, name).unwrap_or_else(|| panic!("no {name} in {list}: {status}"))
}

pub fn find_node<'a>(
    status: &'a serde_json::Value,
    list: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    status[list]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["name"] == name)
}

/// The `source` names of `errors`.
pub fn error_sources(status: &serde_json::Value) -> Vec<String> {
    status["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["source"].as_str().map(str::to_string))
        .collect()
}

/// Counts of (service, action) in a recording.
pub fn summary(rec: &[Recorded]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for r in rec {
        *out.entry((r.service.clone(), r.action.clone()))
            .or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod recorder_tests {
    use super::*;

    #[test]
    fn recorder_lines_name_service_and_action() {
        // The README's line (boto3 DescribeInstances), shortened.
        let ec2 = r#"{"headers": {"Host": "127.0.0.1:5000", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "X-Amz-Date": "20261202T144004Z", "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/ap-northeast-2/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=3afb"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "QWN0aW9uPURlc2NyaWJlSW5zdGFuY2VzJlZlcnNpb249MjAxNi0xMS0xNSZGaWx0ZXIuMS5OYW1lPXRhZyUzQUVudmlyb25tZW50JkZpbHRlci4xLlZhbHVlLjE9cHJvZA==", "body_encoded": true}"#;
        let r = parse_recorded(ec2).expect("checked");
        assert_eq!(
            (r.service.as_str(), r.action.as_str(), r.app.as_deref()),
            ("ec2", "DescribeInstances", None)
        );
        assert!(
            r.body.contains("Filter.1.Name=tag%3AEnvironment"),
            "{}",
            r.body
        );
        // JSON protocol: the operation is in X-Amz-Target (header names in any case).
        let logs = r#"{"headers": {"user-agent": "aws-sdk-rust/1.7.0 ua/2.1 api/cloudwatchlogs/1.162.0 os/linux lang/rust/1.95.0 md/http#hyper-1.x app/opsdeck-it-7-0", "x-amz-target": "Logs_20140328.FilterLogEvents", "authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/ap-northeast-2/logs/aws4_request, SignedHeaders=host, Signature=00"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "e30=", "body_encoded": true}"#;
        let r = parse_recorded(logs).expect("checked");
        assert_eq!(r.app.as_deref(), Some("opsdeck-it-7-0"));
        assert_eq!(
            (r.service.as_str(), r.action.as_str()),
            ("logs", "FilterLogEvents")
        );
        assert!(r.reads());
        // A mutating query-protocol call, body without padding.
        let body = "QWN0aW9uPURlcmVnaXN0ZXJUYXJnZXRzJlZlcnNpb249MjAxNS0xMi0wMQ"; // Action=DeregisterTargets&Version=2015-12-01
        let dereg = format!(
            r#"{{"headers": {{"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/ap-northeast-2/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00"}}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{body}", "body_encoded": true}}"#
        );
        let r = parse_recorded(&dereg).expect("checked");
        assert_eq!(r.service, "elasticloadbalancing");
        assert_eq!(r.action, "DeregisterTargets");
        assert!(!r.reads());
        // moto's own endpoints, a plain-text body, an unknown request.
        let reset = r#"{"headers": {}, "method": "POST", "url": "http://127.0.0.1:5000/moto-api/reset", "body": "", "body_encoded": true}"#;
        let r = parse_recorded(reset).expect("checked");
        assert_eq!(
            (r.service.as_str(), r.action.as_str()),
            ("moto-api", "/moto-api/reset")
        );
        assert!(!r.reads());
        let get = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/?Action=GetCallerIdentity", "body": "", "body_encoded": false}"#;
        assert_eq!(
            parse_recorded(get).expect("checked").action,
            "GetCallerIdentity"
        );
        let odd = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/x", "body": "", "body_encoded": false}"#;
        let r = parse_recorded(odd).expect("checked");
        assert_eq!((r.service.as_str(), r.action.as_str()), ("?", "?"));
        assert!(!r.reads(), "an unknown request never counts as a read");
        assert!(parse_recorded("not json").is_err());
        assert!(
            parse_recorded(r#"{"headers": {}, "url": "/", "body": "***", "body_encoded": true}"#)
                .is_err()
        );
    }

    #[test]
    fn base64_decodes_padded_and_unpadded() {
        assert_eq!(base64_decode("").expect("checked"), b"");
        assert_eq!(base64_decode("e30=").expect("checked"), b"{}");
        assert_eq!(base64_decode("YWJj").expect("checked"), b"abc");
        assert_eq!(base64_decode("YWI").expect("checked"), b"ab");
        assert_eq!(base64_decode("YQ==").expect("checked"), b"a");
        assert!(base64_decode("a*b").is_none());
    }
}
