//! The keys and what they do: which view is open, what is selected, the filter being typed,
//! the fault menu and the help. A key changes this state and may ask for a `Command` that the
//! run loop carries out (a call to the admin API, pausing the load, quitting). Every key the
//! lab answers is in `KEYS`, which the help and the footer print, so a new key (as `m`, a
//! mystery: a `Command::Admin` with its request) is one row there and one arm in
//! `overview_key`.

use crate::admin::{AdminRequest, PRESETS};
use crate::screen::Screen;
use crate::traces::store::TraceId;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Every key, as the help lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("l", "lazy mode on / off"),
    ("f", "fault presets (PUT /faults)"),
    ("p", "pause / resume the load"),
    ("m", "a mystery: an incident of the catalogue, untold (docs/incidents.md)"),
    ("/", "filter routes and traces (Enter keeps, Esc clears)"),
    ("↑ ↓ Tab", "choose a trace: slowest or failed list"),
    ("Enter", "open the chosen trace's waterfall"),
    ("Esc", "back to the overview"),
    ("?", "this help"),
    ("q", "quit, stopping everything the lab started"),
];

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Admin(AdminRequest),
    TogglePause,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Slowest,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Overview,
    Trace { id: TraceId, span: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub view: View,
    pub list: List,
    pub selected: usize,
    pub filter: String,
    /// The filter while it is typed.
    pub typing: Option<String>,
    /// The fault menu, open with its selected preset.
    pub menu: Option<usize>,
    pub help: bool,
}

impl Default for App {
    fn default() -> Self {
        Self {
            view: View::Overview,
            list: List::Slowest,
            selected: 0,
            filter: String::new(),
            typing: None,
            menu: None,
            help: false,
        }
    }
}

impl App {
    /// Handles `key` with `screen` on display.
    pub fn key(&mut self, key: KeyEvent, screen: &Screen) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Command::Quit);
        }
        if self.help {
            self.help = false;
            return None;
        }
        if let Some(typed) = self.typing.as_mut() {
            match key.code {
                KeyCode::Enter => self.filter = self.typing.take().unwrap_or_default(),
                KeyCode::Esc => {
                    self.typing = None;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
            self.selected = 0;
            return None;
        }
        if let Some(chosen) = self.menu {
            return self.menu_key(key, chosen);
        }
        match self.view {
            View::Overview => self.overview_key(key, screen),
            View::Trace { id, span } => {
                match key.code {
                    KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => self.view = View::Overview,
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.view = View::Trace { id, span: span + 1 };
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.view = View::Trace { id, span: span.saturating_sub(1) };
                    }
                    KeyCode::Char('q') => return Some(Command::Quit),
                    KeyCode::Char('?') => self.help = true,
                    _ => {}
                }
                None
            }
        }
    }

    fn menu_key(&mut self, key: KeyEvent, chosen: usize) -> Option<Command> {
        let pick = |index: usize| {
            let (_, plan) = PRESETS[index];
            Some(Command::Admin(match plan {
                Some(text) => AdminRequest::SetPlan((*text).to_owned()),
                None => AdminRequest::ClearAll,
            }))
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('f' | 'q') => self.menu = None,
            KeyCode::Down | KeyCode::Char('j') => self.menu = Some((chosen + 1) % PRESETS.len()),
            KeyCode::Up | KeyCode::Char('k') => {
                self.menu = Some((chosen + PRESETS.len() - 1) % PRESETS.len());
            }
            KeyCode::Enter => {
                self.menu = None;
                return pick(chosen);
            }
            KeyCode::Char(digit) if digit.is_ascii_digit() => {
                let index = digit.to_digit(10).map_or(usize::MAX, |d| d as usize);
                if index < PRESETS.len() {
                    self.menu = None;
                    return pick(index);
                }
            }
            _ => {}
        }
        None
    }

    fn overview_key(&mut self, key: KeyEvent, screen: &Screen) -> Option<Command> {
        let shown = match self.list {
            List::Slowest => &screen.traces.slowest,
            List::Failed => &screen.traces.failed,
        };
        match key.code {
            KeyCode::Char('q') => return Some(Command::Quit),
            KeyCode::Char('l') => {
                let lazy = screen.faults.lazy_on;
                return Some(Command::Admin(if lazy {
                    AdminRequest::LazyOff
                } else {
                    AdminRequest::LazyOn
                }));
            }
            KeyCode::Char('f') => self.menu = Some(0),
            KeyCode::Char('p') => return Some(Command::TogglePause),
            KeyCode::Char('m') => return Some(Command::Admin(AdminRequest::StartMystery)),
            KeyCode::Char('/') => self.typing = Some(self.filter.clone()),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Right => {
                self.list = if self.list == List::Slowest { List::Failed } else { List::Slowest };
                self.selected = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(shown.len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(trace) = shown.get(self.selected) {
                    self.view = View::Trace { id: trace.id, span: 0 };
                }
            }
            KeyCode::Esc => self.filter.clear(),
            _ => {}
        }
        None
    }
}
