//! Render snapshots of the operation UI: confirmation dialogs, the command
//! palette, the operations panel, the runbook pane and read-only help. Every
//! state is produced by the real reducer from messages, as the runtime would.

use insta::assert_snapshot;
use opsdeck::core::action::ActionId;
use opsdeck::core::key::{Key, KeyCode, Modifiers};
use opsdeck::core::operation::{StepStatus, Verdict};
use opsdeck::core::runbook::{RunbookDoc, step_lines};
use opsdeck::core::state::State;
use opsdeck::core::view::ViewId;
use opsdeck::core::{Msg, Timestamp, update};
use ratatui::buffer::Buffer;

use crate::support::{NOW, buffer_text, fixture, render};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 36)];

fn act(state: &mut State, action: ActionId) {
    update(state, Msg::Action(action));
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        update(
            state,
            Msg::Input(Key::with(KeyCode::Char(c), Modifiers::default())),
        );
    }
}

fn at(ms: i64) -> Timestamp {
    NOW.plus_millis(ms)
}

fn step(state: &mut State, id: u64, index: usize, status: StepStatus, detail: &str, ms: i64) {
    update(
        state,
        Msg::OperationStep {
            id,
            index,
            status,
            detail: (!detail.is_empty()).then(|| detail.to_string()),
            at: at(ms),
        },
    );
}

fn tick(state: &mut State, ms: i64) {
    update(state, Msg::Tick { now: at(ms) });
}

/// No cell may hold a control character (ESC above all).
fn assert_inert(buf: &Buffer) {
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "control character {:?} in the buffer",
            cell.symbol()
        );
    }
}

/// Renders at both sizes, checks the buffer is inert, snapshots both.
fn snap_both(name: &str, state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for (w, h) in SIZES {
        let buf = render(state, w, h);
        assert_inert(&buf);
        let text = buffer_text(&buf);
        assert_snapshot!(format!("{name}_{w}x{h}"), text);
        out.push(text);
    }
    out
}

/// The overview with web-c1 (degraded, not the last healthy one) selected.
fn drain_dialog() -> State {
    let mut s = fixture();
    s.view = ViewId::Overview;
    s.overview_selected = 2;
    act(&mut s, ActionId::DrainBackend);
    s
}

#[test]
fn drain_dialog_focuses_cancel() {
    let s = drain_dialog();
    let dialog = s.dialog.as_ref().expect("drain opens a dialog");
    assert!(dialog.refusal.is_none(), "{dialog:?}");
    for text in snap_both("drain_dialog", &s) {
        assert!(text.contains("drain-backend web-c1"), "{text}");
        assert!(text.contains("▶[ Cancel ]"), "{text}");
        assert!(!text.contains("▶[ Confirm"), "{text}");
        assert!(text.contains("y confirm"), "{text}");
    }
}

#[test]
fn dialog_focus_moves_with_the_keymap_keys() {
    let mut s = drain_dialog();
    act(&mut s, ActionId::DialogNextButton);
    let text = buffer_text(&render(&s, 80, 24));
    assert!(text.contains("▶[ Confirm ]"), "{text}");
    assert!(!text.contains("▶[ Cancel ]"), "{text}");
}

#[test]
fn promote_with_unknown_lag_is_refused_and_needs_the_name() {
    let mut s = fixture();
    s.view = ViewId::Replication;
    s.replication_selected = 1;
    act(&mut s, ActionId::PromoteReplica);
    let dialog = s.dialog.as_ref().expect("promote opens a dialog");
    assert!(dialog.refusal.is_some(), "{dialog:?}");
    type_text(&mut s, "db-rep");
    for text in snap_both("promote_refused_dialog", &s) {
        assert!(text.contains("REFUSED by guard `replica-lag`"), "{text}");
        assert!(
            text.contains("type db-replica to confirm: db-rep"),
            "{text}"
        );
        assert!(text.contains("▶[ Cancel ]"), "{text}");
    }
    type_text(&mut s, "lica");
    let text = buffer_text(&render(&s, 80, 24));
    assert!(text.contains("✔ matches"), "{text}");
}

#[test]
fn palette_completes_actions_then_targets() {
    let mut s = fixture();
    act(&mut s, ActionId::OpenPalette);
    type_text(&mut s, "dr");
    for text in snap_both("palette_dr", &s) {
        assert!(text.contains(": dr"), "{text}");
        assert!(text.contains("▶ drain-backend"), "{text}");
        assert!(text.contains("⚠ mutates"), "{text}");
    }

    let mut s = fixture();
    act(&mut s, ActionId::OpenPalette);
    type_text(&mut s, "drain-backend w");
    for text in snap_both("palette_drain_target", &s) {
        assert!(text.contains("drain-backend web-a1"), "{text}");
        assert!(text.contains("target"), "{text}");
    }
}

#[test]
fn palette_in_read_only_marks_mutating_actions() {
    let mut s = fixture();
    s.read_only = true;
    act(&mut s, ActionId::OpenPalette);
    type_text(&mut s, "r");
    let text = buffer_text(&render(&s, 120, 36));
    assert!(text.contains("read-only"), "{text}");
    assert!(!text.contains("⚠ mutates"), "{text}");
}

/// Confirms the drain of web-c1 and runs its first step; the second runs.
fn running_drain() -> State {
    let mut s = drain_dialog();
    act(&mut s, ActionId::DialogConfirm);
    assert!(s.dialog.is_none());
    assert!(s.operations_panel);
    let id = s.operations.last().expect("an operation").id;
    step(&mut s, id, 0, StepStatus::Running, "", 0);
    step(&mut s, id, 0, StepStatus::Done, "", 400);
    step(
        &mut s,
        id,
        1,
        StepStatus::Running,
        "in-flight 12 · 27s left",
        400,
    );
    step(
        &mut s,
        id,
        1,
        StepStatus::Running,
        "in-flight 9 · 24s left",
        3_400,
    );
    tick(&mut s, 3_400);
    s
}

#[test]
fn operations_panel_shows_a_running_drain() {
    let s = running_drain();
    for text in snap_both("ops_running_drain", &s) {
        assert!(
            text.contains("Operation #1: drain-backend web-c1"),
            "{text}"
        );
        assert!(text.contains("in-flight 9 · 24s left"), "{text}");
        assert!(text.contains("<esc> cancel"), "{text}");
    }
}

#[test]
fn operations_panel_shows_a_failed_rollback() {
    let mut s = running_drain();
    let first = s.operations[0].id;
    let n = s.operations[0].steps.len();
    for i in 1..n {
        step(
            &mut s,
            first,
            i,
            StepStatus::Done,
            "",
            6_000 + i as i64 * 500,
        );
    }
    update(
        &mut s,
        Msg::OperationFinished {
            id: first,
            verdict: Verdict::Succeeded,
            at: at(8_000),
        },
    );
    tick(&mut s, 60_000);
    // Fresh hosts data: guards refuse acting on data older than its limit.
    s.hosts.updated_at = Some(at(59_000));
    s.view = ViewId::Deploys;
    s.deploys_selected = 2;
    act(&mut s, ActionId::RollbackDeploy);
    assert!(s.dialog.is_some(), "{:?}", s.message);
    act(&mut s, ActionId::DialogConfirm);
    let op = s.operations.last().expect("the rollback").clone();
    assert_eq!(s.operations.len(), 2);
    let mut t = 60_000;
    for i in 0..3 {
        step(&mut s, op.id, i, StepStatus::Running, "", t);
        t += 1_500;
        step(&mut s, op.id, i, StepStatus::Done, "", t);
    }
    step(
        &mut s,
        op.id,
        3,
        StepStatus::Running,
        "health 2/3 · 58s left",
        t,
    );
    t += 60_000;
    step(
        &mut s,
        op.id,
        3,
        StepStatus::Failed("not healthy on 1.4.1 after 60s".into()),
        "",
        t,
    );
    update(
        &mut s,
        Msg::OperationNote {
            id: op.id,
            note: "audit webhook: HTTP 503 (kept in the local audit log)".into(),
        },
    );
    update(
        &mut s,
        Msg::OperationFinished {
            id: op.id,
            verdict: Verdict::Failed(
                "web-a1 did not become healthy on 1.4.1; the rest keep 1.4.2".into(),
            ),
            at: at(t),
        },
    );
    tick(&mut s, t + 2_000);
    for text in snap_both("ops_failed_rollback", &s) {
        assert!(text.contains("✖ failed"), "{text}");
        assert!(text.contains("1 earlier operation this session"), "{text}");
        assert!(text.contains("<esc> close"), "{text}");
    }
}

fn runbook_doc() -> RunbookDoc {
    let lines: Vec<String> = [
        "# Database failover",
        "",
        "Use when `db-primary` is down or its lag alarms fire.",
        "",
        "## Before",
        "- Open the replication view: press `3`",
        "- Check the replica's lag; unknown lag means *stop and ask*",
        "",
        "## Promote",
        "1. Drain writes: put the app in maintenance (`:maintenance on`)",
        "2. Promote the replica: press `P` and read the preview",
        "3. Confirm the new primary is writable in the replication view",
        "4. Announce in #ops with the time and the lag at promotion",
        "",
        "```",
        "mysql -e 'SELECT @@read_only'",
        "```",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    RunbookDoc {
        name: "database-failover".into(),
        title: "Database failover".into(),
        steps: step_lines(&lines),
        lines,
    }
}

#[test]
fn runbook_pane_beside_the_view() {
    let mut s = fixture();
    s.view = ViewId::Replication;
    s.runbooks.push(runbook_doc());
    act(&mut s, ActionId::OpenPalette);
    type_text(&mut s, "runbook database-failover");
    update(
        &mut s,
        Msg::Input(Key::with(KeyCode::Enter, Modifiers::default())),
    );
    assert!(s.runbook.is_some(), "{:?}", s.message);
    act(&mut s, ActionId::RunbookToggleStep);
    act(&mut s, ActionId::RunbookToggleStep);
    act(&mut s, ActionId::RunbookNextStep);
    for text in snap_both("runbook_pane", &s) {
        assert!(text.contains("Runbook: Database failover"), "{text}");
        assert!(text.contains("[x]"), "{text}");
        assert!(text.contains("▶[ ]"), "{text}");
        assert!(text.contains("x tick"), "{text}");
    }
}

#[test]
fn help_in_read_only_tags_mutating_actions() {
    let mut s = fixture();
    s.read_only = true;
    s.view = ViewId::Overview;
    s.runbooks.push(runbook_doc());
    act(&mut s, ActionId::ShowHelp);
    for text in snap_both("help_read_only", &s) {
        assert!(text.contains("drain-backend"), "{text}");
        assert!(text.contains("read-only"), "{text}");
        assert!(!text.contains('⚠'), "{text}");
    }
    // Read-write: the same actions carry the warning marker instead.
    let mut s = fixture();
    s.view = ViewId::Overview;
    act(&mut s, ActionId::ShowHelp);
    let text = buffer_text(&render(&s, 120, 36));
    assert!(text.contains("⚠"), "{text}");
}

#[test]
fn help_lists_runbook_keys_when_a_runbook_is_open() {
    let mut s = fixture();
    s.view = ViewId::Deploys;
    s.runbooks.push(runbook_doc());
    act(&mut s, ActionId::OpenPalette);
    type_text(&mut s, "runbook database-failover");
    update(
        &mut s,
        Msg::Input(Key::with(KeyCode::Enter, Modifiers::default())),
    );
    act(&mut s, ActionId::ShowHelp);
    let text = buffer_text(&render(&s, 120, 36));
    assert!(text.contains("Runbook pane"), "{text}");
    assert!(
        text.contains("x toggle-step") || text.contains("runbook-toggle-step"),
        "{text}"
    );
}

/// The cell where `needle` starts on screen, as (x, y).
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let text = buffer_text(buf);
    text.lines().enumerate().find_map(|(y, line)| {
        let byte = line.find(needle)?;
        Some((line[..byte].chars().count() as u16, y as u16))
    })
}

#[test]
fn focused_button_is_reversed_and_confirm_is_greyed_until_typed() {
    use opsdeck::theme::{Role, Theme};
    use ratatui::style::Modifier;
    let theme = Theme::builtin();
    let buf = render(&drain_dialog(), 80, 24);
    let (x, y) = find(&buf, "[ Cancel ]").expect("cancel button");
    assert!(buf[(x + 2, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(&buf, "[ Confirm ]").expect("confirm button");
    assert!(!buf[(x + 2, y)].modifier.contains(Modifier::REVERSED));

    let mut s = fixture();
    s.view = ViewId::Replication;
    s.replication_selected = 1;
    act(&mut s, ActionId::PromoteReplica);
    let buf = render(&s, 80, 24);
    let (x, y) = find(&buf, "[ Confirm").expect("confirm button");
    assert_eq!(
        buf[(x + 2, y)].fg,
        theme.style(Role::TextDim).fg.expect("dim fg")
    );
}
