//! An expired SSO session (an offline profile and token cache, no server
//! needed: the token is refused before any request): every panel says which
//! command renews it, and nothing hangs.

use std::process::Command;
use std::time::{Duration, Instant};

use super::super::e2e_tmux::binary;

#[test]
fn aws_expired_sso_token_names_the_login_command_and_does_not_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    std::fs::write(
        home.join(".aws/config"),
        "[profile prod]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Operator\nregion = ap-northeast-2\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.example/start\n\
         sso_region = ap-northeast-2\nsso_registration_scopes = sso:account:access\n",
    )
    .expect("aws config");
    // The SDK names a session's token cache by the SHA-1 of the session name
    // (sha1("corp")); this token expired and has no refresh token.
    let name = sha1_hex(b"corp");
    std::fs::write(
        cache.join(format!("{name}.json")),
        r#"{"startUrl": "https://corp.awsapps.example/start", "region": "ap-northeast-2", "accessToken": "expired", "expiresAt": "2026-01-01T00:00:00Z"}"#,
    )
    .expect("token cache");
    let config = dir.path().join("opsdeck.toml");
    // Every endpoint on a loopback port nothing listens on: if a request were
    // sent at all, it would fail as refused, not as an expired token.
    std::fs::write(
        &config,
        "[environments.prod]\nprovider = \"aws\"\nregion = \"ap-northeast-2\"\n\
         azs = [\"ap-northeast-2a\", \"ap-northeast-2c\"]\n\
         [environments.prod.aws]\nprofile = \"prod\"\nendpoint_url = \"http://127.0.0.1:9\"\n\
         max_attempts = 2\n[environments.prod.aws.instances]\ntags = { Environment = \"prod\" }\n\
         [environments.prod.aws.alb]\ntarget_groups = [\"prod-web\"]\n",
    )
    .expect("config");
    let start = Instant::now();
    let out = Command::new(binary())
        .args(["--config"])
        .arg(&config)
        .args(["status", "--json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .output()
        .expect("run opsdeck");
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing source exits 1: {err}"
    );
    assert!(
        err.contains("aws sso login --profile prod"),
        "names the command: {err}"
    );
    assert!(err.contains("expired"), "says why: {err}");
    assert!(
        !err.contains("Connection refused"),
        "nothing was sent: {err}"
    );
    assert!(took < Duration::from_secs(10), "no hang: {took:?}");
}

/// SHA-1 as lowercase hex (the SDK's token cache file name).
fn sha1_hex(data: &[u8]) -> String {
    let out = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha1sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("hash")
        .to_string()
}
