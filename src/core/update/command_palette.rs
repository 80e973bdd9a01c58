//! Reducer parts for the command palette and the runbook pane.

use super::super::action::ActionId;
use super::super::command_palette::{self, Command, CommandPalette};
use super::super::effect::Effect;
use super::super::key::{Key, KeyCode};
use super::super::runbook::RunbookPane;
use super::super::state::{MessageLevel, Overlay, State};
use super::super::view::ViewId;
use super::{act, operations, say, switch_view};

pub(super) fn open(state: &mut State) {
    state.command_palette = Some(CommandPalette::default());
}

pub(super) fn input(state: &mut State, key: Key) -> Vec<Effect> {
    let Some(mut p) = state.command_palette.take() else {
        return Vec::new();
    };
    let ctrl = key.mods.ctrl;
    match key.code {
        KeyCode::Esc => return Vec::new(),
        KeyCode::Enter => return run(state, &p),
        KeyCode::Tab => {
            if let Some(c) = command_palette::candidates(state, &p.text).get(p.selected) {
                p.text = c.text.clone();
                let takes_target = ActionId::from_name(&c.text).is_some_and(|a| a.spec().mutates)
                    || c.text == "logs"
                    || c.text == "runbook";
                if takes_target {
                    p.text.push(' ');
                }
                p.selected = 0;
            }
        }
        KeyCode::Down => p.selected += 1,
        KeyCode::Char('n') if ctrl => p.selected += 1,
        KeyCode::Up => p.selected = p.selected.saturating_sub(1),
        KeyCode::Char('p') if ctrl => p.selected = p.selected.saturating_sub(1),
        KeyCode::Backspace => {
            if p.text.pop().is_none() {
                // Backspace on an empty palette closes it, as in vim.
                return Vec::new();
            }
            p.selected = 0;
        }
        KeyCode::Char('u') if ctrl => {
            p.text.clear();
            p.selected = 0;
        }
        KeyCode::Char(c) if key.is_text() => {
            p.text.push(c);
            p.selected = 0;
        }
        _ => {}
    }
    let n = command_palette::candidates(state, &p.text).len();
    p.selected = p.selected.min(n.saturating_sub(1));
    state.command_palette = Some(p);
    Vec::new()
}

/// Enter: run what was typed; if it does not parse, run the selected candidate.
fn run(state: &mut State, p: &CommandPalette) -> Vec<Effect> {
    let parsed = command_palette::parse(&p.text).or_else(|err| {
        command_palette::candidates(state, &p.text)
            .get(p.selected)
            .ok_or(err)
            .and_then(|c| command_palette::parse(&c.text))
    });
    match parsed {
        Err(e) => {
            say(
                state,
                MessageLevel::Warning,
                format!(":{}: {e}", p.text.trim()),
            );
            Vec::new()
        }
        Ok(Command::View(v)) => {
            switch_view(state, v);
            Vec::new()
        }
        Ok(Command::Logs(host)) => {
            if let Some(h) = &host
                && !state.log_hosts().contains(h)
            {
                say(
                    state,
                    MessageLevel::Warning,
                    format!("logs: no host named {h}"),
                );
                return Vec::new();
            }
            state.logs.filter.host = host;
            state.logs.follow = true;
            state.logs.anchor = None;
            switch_view(state, ViewId::Logs);
            Vec::new()
        }
        Ok(Command::Runbook(name)) => {
            open_runbook(state, &name);
            Vec::new()
        }
        Ok(Command::Usage) => {
            state.overlay = Some(Overlay::Usage);
            state.dirty = true;
            Vec::new()
        }
        Ok(Command::Action(id, target)) if id.spec().mutates => {
            operations::start(state, id, target.as_deref())
        }
        Ok(Command::Action(ActionId::ShowLogsForSelection, Some(host))) => run(
            state,
            &CommandPalette {
                text: format!("logs {host}"),
                selected: 0,
            },
        ),
        Ok(Command::Action(id, Some(t))) => {
            say(
                state,
                MessageLevel::Warning,
                format!("{} takes no target ('{t}')", id.name()),
            );
            Vec::new()
        }
        Ok(Command::Action(id, None)) => act(state, id),
    }
}

pub(super) fn open_runbook(state: &mut State, name: &str) {
    match state.runbooks.iter().position(|r| r.name == name) {
        Some(doc) => {
            state.runbook = Some(RunbookPane {
                doc,
                ..RunbookPane::default()
            });
        }
        None => {
            let names: Vec<&str> = state.runbooks.iter().map(|r| r.name.as_str()).collect();
            let available = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            say(
                state,
                MessageLevel::Warning,
                format!("no runbook named '{name}' (available: {available})"),
            );
        }
    }
}

pub(super) fn runbook_action(state: &mut State, action: ActionId) {
    let Some(pane) = state.runbook.as_mut() else {
        return;
    };
    let steps = state.runbooks.get(pane.doc).map_or(0, |d| d.steps.len());
    match action {
        ActionId::RunbookNextStep => pane.cursor = (pane.cursor + 1).min(steps.saturating_sub(1)),
        ActionId::RunbookPrevStep => pane.cursor = pane.cursor.saturating_sub(1),
        ActionId::RunbookToggleStep if steps > 0 && pane.done.remove(&pane.cursor) => {}
        ActionId::RunbookToggleStep if steps > 0 => {
            pane.done.insert(pane.cursor);
            // Ticking moves on to the next step, as people work down a list.
            pane.cursor = (pane.cursor + 1).min(steps - 1);
        }
        ActionId::CloseRunbook => state.runbook = None,
        _ => {}
    }
}
