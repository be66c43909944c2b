//! A program the lab started, in a process group of its own, so the lab alone decides when it
//! stops (a Ctrl-C in the terminal reaches the lab, not it) and a signal reaches everything it
//! started. It is stopped when dropped: on a normal exit, on Ctrl-C and while a panic unwinds;
//! and every live group is also registered for the panic hook, which stops them even when the
//! panic happens on a thread that does not own them.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Process groups alive now, for the panic hook.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How long a child has to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub struct Supervised {
    pub name: &'static str,
    child: Child,
    paused: bool,
}

impl Supervised {
    /// Starts `command` in a new process group, its output appended to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let out = File::options().create(true).append(true).open(log)?;
        command.process_group(0).stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let child = command.spawn()?;
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(group_of(&child));
        Ok(Self { name, child, paused: false })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Whether it is still running (`false` once it exited).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the whole group.
    pub fn set_paused(&mut self, paused: bool) -> nix::Result<()> {
        let signal = if paused { Signal::SIGSTOP } else { Signal::SIGCONT };
        killpg(Pid::from_raw(group_of(&self.child)), signal)?;
        self.paused = paused;
        Ok(())
    }

    /// SIGTERM to the group (continued first, were it stopped), SIGKILL after the grace.
    pub fn stop(&mut self) {
        let group = group_of(&self.child);
        if matches!(self.child.try_wait(), Ok(None)) {
            terminate(group);
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // The group may outlive its leader: kill whatever is left of it.
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        let _ = self.child.wait();
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).retain(|g| *g != group);
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

fn group_of(child: &Child) -> i32 {
    // process_group(0) made the child the leader of a group numbered after it.
    i32::try_from(child.id()).unwrap_or(i32::MAX)
}

fn terminate(group: i32) {
    let group = Pid::from_raw(group);
    let _ = killpg(group, Signal::SIGTERM);
    let _ = killpg(group, Signal::SIGCONT);
}

/// Installs a panic hook that kills every live group, prints the panic as before, and ends the
/// lab: a panic on any thread (a task of the collector's, say) leaves no child behind, and no
/// lab watching nothing.
pub fn stop_all_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        previous(info);
        std::process::exit(101);
    }));
}

/// SIGKILL to every live group, at once (a panicking process has no time for grace).
pub fn kill_all() {
    let groups = std::mem::take(&mut *LIVE.lock().unwrap_or_else(PoisonError::into_inner));
    for group in groups {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::kill;

    /// kill_all reaches every group of the process: these tests take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn alive(pid: u32) -> bool {
        // A zombie still answers signal 0; /proc tells it apart.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        kill(Pid::from_raw(pid as i32), None).is_ok()
            && !state.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    }

    /// Whether `pid` is gone within two seconds (a kill is delivered, not waited for).
    fn gone(pid: u32) -> bool {
        for _ in 0..100 {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// A shell that starts a grandchild in its group, one that ignores SIGTERM, and waits:
    /// both must go.
    fn sleeper(dir: &Path) -> Supervised {
        let mut command = Command::new("sh");
        let script = "(trap '' TERM; exec sleep 300) & echo $! > grandchild; wait";
        command.args(["-c", script]).current_dir(dir);
        Supervised::spawn("sleeper", command, &dir.join("log")).unwrap()
    }

    fn grandchild(dir: &Path) -> u32 {
        for _ in 0..100 {
            if let Some(pid) = std::fs::read_to_string(dir.join("grandchild"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the grandchild did not start");
    }

    #[test]
    fn dropping_stops_the_child_and_everything_it_started() {
        let _turn = serial();
        let dir = tempfile::tempdir().unwrap();
        let child = sleeper(dir.path());
        let (pid, grandchild) = (child.pid(), grandchild(dir.path()));
        assert!(alive(pid) && alive(grandchild));
        drop(child);
        assert!(gone(pid), "the child outlived the drop");
        assert!(gone(grandchild), "the grandchild outlived the drop");
    }

    #[test]
    fn a_panic_while_holding_it_stops_it() {
        let _turn = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let pids = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let child = sleeper(&path);
            pids.0.send((child.pid(), grandchild(&path))).unwrap();
            panic!("planted panic with a child held");
        });
        assert!(holder.join().is_err(), "the thread panicked");
        let (pid, grandchild) = pids.1.recv().unwrap();
        assert!(gone(pid) && gone(grandchild));
    }

    #[test]
    fn kill_all_stops_groups_held_elsewhere_and_pausing_stops_and_continues() {
        let _turn = serial();
        let dir = tempfile::tempdir().unwrap();
        let mut child = sleeper(dir.path());
        let grandchild = grandchild(dir.path());
        child.set_paused(true).unwrap();
        let state = || std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap();
        for _ in 0..50 {
            if state().contains(") T") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(state().contains(") T"), "SIGSTOP reached the group: {}", state());
        child.set_paused(false).unwrap();
        kill_all();
        assert!(gone(grandchild), "kill_all left the group alive");
        assert!(gone(child.pid()) && !child.running(), "kill_all left the child alive");
    }
}
