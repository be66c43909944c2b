//! The terminal, opened and closed without a word on stderr. ratatui's `init` and `restore`
//! (and its terminal's drop) print when the terminal fails, and printing to a terminal that has
//! gone (tmux's session killed, an ssh connection dropped) panics; a panic while a panic hook
//! restores the terminal aborts the lab before it stops its children. Here every write to a
//! gone terminal is dropped instead, and the hangup itself (SIGHUP) ends the lab.

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use std::io::{Stdout, Write, stdout};

/// Stdout, whose failures are swallowed: nobody is left to read what could not be written.
pub struct Quiet(Stdout);

impl Write for Quiet {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Ok(self.0.write(bytes).unwrap_or(bytes.len()))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

pub type Screen = Terminal<CrosstermBackend<Quiet>>;

/// Raw mode and the alternate screen, restored by `close`, and by a panic before the previous
/// hook runs (the lab's, which stops the children).
pub fn open() -> std::io::Result<Screen> {
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        close();
        previous(info);
    }));
    Terminal::new(CrosstermBackend::new(Quiet(stdout())))
}

/// Leaves raw mode and the alternate screen, if the terminal is still there.
pub fn close() {
    let _ = ratatui::try_restore();
}
