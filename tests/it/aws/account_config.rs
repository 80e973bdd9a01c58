//! The account check (STS before anything else) and config errors.

use super::{aws_or_skip, summary};

#[test]
fn aws_a_wrong_account_stops_before_anything_is_read() {
    let Some(lab) = aws_or_skip("aws_a_wrong_account_stops_before_anything_is_read") else {
        return;
    };
    let config = lab.config_with_aws_line("account.toml", "expected_account = \"999999999999\"");
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck_with(&config, &["status", "--json"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("999999999999") && err.contains("123456789012"),
        "names both accounts: {err}"
    );
    let rec = lab.recording();
    assert_eq!(
        rec.iter()
            .map(|r| (r.service.as_str(), r.action.as_str()))
            .collect::<Vec<_>>(),
        [("sts", "GetCallerIdentity")],
        "only STS: {:?}",
        summary(&rec)
    );

    // The right account passes.
    let config = lab.config_with_aws_line("account-ok.toml", "expected_account = \"123456789012\"");
    let (code, _, err) = lab.opsdeck_with(&config, &["status", "--json"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn aws_a_misspelt_setting_names_file_and_line() {
    let Some(lab) = aws_or_skip("aws_a_misspelt_setting_names_file_and_line") else {
        return;
    };
    let config = lab.config_variant("typo.toml", |t| {
        t.replace("target_groups = [", "target_group = [")
    });
    let line = std::fs::read_to_string(&config)
        .expect("checked")
        .lines()
        .position(|l| l.starts_with("target_group = "))
        .expect("the typo")
        + 1;
    lab.reset_recorder();
    let (code, out, err) = lab.opsdeck_with(&config, &["check"]);
    assert_eq!(code, Some(2), "{out}{err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains(&format!("{}:{line}:", config.display())),
        "names the file and line {line}: {text}"
    );
    assert!(text.contains("target_group"), "{text}");
    assert!(text.contains("target_groups"), "suggests the field: {text}");
    assert!(lab.recording().is_empty(), "check sends nothing");
}
