//! The lab from start to exit: the receiver first (the service exports to it), then the
//! programs it supervises or the service it attaches to, the collector, and then one of three
//! ways to show it: the terminal UI, plain-text snapshots when stdout is not a terminal, or one
//! snapshot with `--once`. Whichever way it ends (q, Ctrl-C, SIGTERM, SIGHUP, an error), the
//! supervised programs are dropped, which stops them.

use crate::admin::{Admin, AdminRequest};
use crate::app::{App, Command, View};
use crate::cli::Cli;
use crate::collector::{self, Shared, Sources};
use crate::prometheus::Prometheus;
use crate::screen::{self, Context, LoadState, Screen};
use crate::supervise::{self, Binaries, LoadSettings, Plan, StartError, Started};
use crate::traces::receiver::{self, SharedStore};
use crate::traces::store::TraceStore;
use crate::{terminal, ui};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Error)]
pub enum LabError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the OTLP receiver cannot listen on {address}: {source}")]
    Receiver { address: SocketAddr, source: std::io::Error },
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Everything the lab watches, and what it started.
struct Lab {
    started: Option<Started>,
    sources: Sources,
    observed: Shared,
    store: SharedStore,
    receiver: SocketAddr,
    clock: Instant,
    window_s: f64,
    message: Option<String>,
}

/// Where the receiver listens with --attach, the port OTLP/HTTP collectors use.
const ATTACHED_RECEIVER: ([u8; 4], u16) = ([127, 0, 0, 1], 4318);

pub async fn run(cli: Cli) -> Result<(), LabError> {
    let store: SharedStore = Arc::new(Mutex::new(TraceStore::new(
        usize::try_from(cli.keep_traces).unwrap_or(usize::MAX),
    )));
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let listen = cli.otlp_listen.unwrap_or_else(|| match cli.attach {
        Some(_) => SocketAddr::from(ATTACHED_RECEIVER),
        None => any_port,
    });
    let receiver = match receiver::start(listen, store.clone()).await {
        Ok(address) => address,
        // The attached default taken (a collector runs there): any port will do, and the
        // traces panel names it.
        Err(_) if cli.otlp_listen.is_none() => receiver::start(any_port, store.clone())
            .await
            .map_err(|source| LabError::Receiver { address: any_port, source })?,
        Err(source) => return Err(LabError::Receiver { address: listen, source }),
    };
    let window_s = cli.window.as_secs_f64();
    let (started, sources) = match &cli.attach {
        Some(url) => {
            let admin = match (&cli.admin_url, &cli.admin_token) {
                (Some(url), Some(token)) => Some(Admin::new(url, token.clone())),
                _ => None,
            };
            let sources = Sources {
                metrics_url: format!("{}/metrics", url.trim_end_matches('/')),
                admin,
                prometheus: cli.prometheus_url.as_deref().map(Prometheus::new),
                service_pid: None,
                window_s,
            };
            (None, sources)
        }
        None => {
            let binaries = Binaries::find(cli.service_bin.clone(), cli.load_bin.clone())?;
            let load = (!cli.no_load)
                .then(|| LoadSettings { users: cli.users, think_time: cli.think_time.clone() });
            let plan = Plan {
                binaries: &binaries,
                otlp: receiver,
                load,
                prometheus: !cli.no_prometheus,
                keep_scratch: cli.keep_scratch,
            };
            let started = tokio::task::block_in_place(|| supervise::start(&plan))?;
            let sources = Sources {
                metrics_url: format!("{}/metrics", started.service_url),
                admin: Some(Admin::new(&started.admin_url, started.admin_token.clone())),
                prometheus: started.prometheus_url.as_deref().map(Prometheus::new),
                service_pid: Some(started.service.pid()),
                window_s,
            };
            (Some(started), sources)
        }
    };
    let clock = Instant::now();
    let observed: Shared = Arc::default();
    tokio::spawn(collector::run(sources.clone(), observed.clone(), clock));
    let mut lab =
        Lab { started, sources, observed, store, receiver, clock, window_s, message: None };
    let outcome = if cli.once {
        tokio::time::sleep(cli.settle).await;
        let _ = writeln!(std::io::stdout(), "{}", lab.text(&App::default(), 100, 40));
        Ok(())
    } else if std::io::stdout().is_terminal() {
        lab.interactive().await
    } else {
        lab.plain(cli.print_every).await
    };
    if let Some(started) = lab.started.take() {
        let kept = cli.keep_scratch.then(|| started.scratch().to_owned());
        tokio::task::block_in_place(|| drop(started));
        if let Some(folder) = kept {
            // Not eprintln!: stderr may be a terminal that has gone, and that would panic.
            let folder = folder.display();
            let _ = writeln!(std::io::stderr(), "snackdrawer-lab: the scratch folder is {folder}");
        }
    }
    outcome
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP (the terminal closed).
async fn stop_signal() {
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    let mut hangup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        () = next(&mut interrupt) => {}
        () = next(&mut terminate) => {}
        () = next(&mut hangup) => {}
    }
}

/// The next delivery of `stream`, or never when it could not be set up.
async fn next(stream: &mut Option<tokio::signal::unix::Signal>) {
    match stream {
        Some(stream) => {
            stream.recv().await;
        }
        None => std::future::pending().await,
    }
}

impl Lab {
    fn load_state(&mut self) -> LoadState {
        let Some(load) = self.started.as_mut().and_then(|s| s.load.as_mut()) else {
            return LoadState::None;
        };
        if !load.running() {
            LoadState::Exited
        } else if load.paused() {
            LoadState::Paused
        } else {
            LoadState::Running
        }
    }

    fn screen(&mut self, app: &App, trace_rows: usize) -> Screen {
        let load = self.load_state();
        let uptime = self.clock.elapsed().as_secs();
        let title = match &self.started {
            Some(started) => format!(
                "snackdrawer-lab {} {}m{:02}s",
                started.service_url.trim_start_matches("http://"),
                uptime / 60,
                uptime % 60
            ),
            None => format!(
                "snackdrawer-lab attached {}",
                self.sources.metrics_url.trim_end_matches("/metrics")
            ),
        };
        let no_prometheus = match &self.started {
            Some(started) => started.prometheus_absent.clone(),
            None => Some("no --prometheus-url".to_owned()),
        };
        let context = Context {
            title,
            load,
            window_s: self.window_s,
            filter: &app.filter,
            no_prometheus,
            prometheus_url: self.sources.prometheus.as_ref().map(|p| p.base().to_owned()),
            receiver: format!("http://{}", self.receiver),
            trace_rows,
            message: self.message.clone(),
        };
        let observed = collector::lock(&self.observed);
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        screen::build(&observed, &store, &context)
    }

    fn waterfall(&self, app: &App) -> Option<screen::Waterfall> {
        let View::Trace { id, .. } = app.view else { return None };
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        screen::waterfall(&store, id)
    }

    /// The screen as text, `width` × `height`, each line's trailing blanks cut.
    fn text(&mut self, app: &App, width: u16, height: u16) -> String {
        let screen = self.screen(app, usize::from(height));
        let waterfall = self.waterfall(app);
        render_text(&screen, app, waterfall.as_ref(), width, height)
    }

    async fn command(&mut self, command: Command) -> bool {
        match command {
            Command::Quit => return true,
            Command::TogglePause => {
                self.message = Some(match self.started.as_mut().and_then(|s| s.load.as_mut()) {
                    None => "no load to pause: the lab started none".to_owned(),
                    Some(load) => {
                        let pause = !load.paused();
                        match load.set_paused(pause) {
                            Ok(()) if pause => "load paused (SIGSTOP); p resumes it".to_owned(),
                            Ok(()) => "load resumed (SIGCONT)".to_owned(),
                            Err(error) => format!("cannot signal the load: {error}"),
                        }
                    }
                });
            }
            Command::Admin(request) => {
                let Some(admin) = self.sources.admin.clone() else {
                    self.message =
                        Some("no admin API: pass --admin-url and --admin-token".to_owned());
                    return false;
                };
                self.message = Some(match admin.send(&request).await {
                    Ok(status) => {
                        let at = self.clock.elapsed().as_secs_f64();
                        collector::lock(&self.observed).set_faults(at, status);
                        describe(&request)
                    }
                    Err(error) => error.to_string(),
                });
            }
        }
        false
    }

    async fn interactive(&mut self) -> Result<(), LabError> {
        let mut terminal = terminal::open()?;
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            while let Ok(event) = event::read() {
                if events_tx.send(event).is_err() {
                    break;
                }
            }
        });
        let mut app = App::default();
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let outcome = loop {
            let height = terminal.size().map_or(24, |s| s.height);
            let rows = usize::from(height);
            let screen = self.screen(&app, rows);
            let waterfall = self.waterfall(&app);
            if let Err(error) =
                terminal.draw(|frame| ui::draw(frame, &screen, &app, waterfall.as_ref()))
            {
                break Err(error.into());
            }
            tokio::select! {
                _ = ticker.tick() => {}
                () = &mut stop => break Ok(()),
                event = events.recv() => match event {
                    Some(Event::Key(key)) if key.kind == KeyEventKind::Press => {
                        if let Some(command) = app.key(key, &screen)
                            && self.command(command).await
                        {
                            break Ok(());
                        }
                    }
                    Some(_) => {}
                    None => break Ok(()),
                },
            }
        };
        terminal::close();
        outcome
    }

    async fn plain(&mut self, every: Duration) -> Result<(), LabError> {
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let text = self.text(&App::default(), 100, 40);
                    // A reader that has gone (a closed pipe) ends the lab, as Ctrl-C does.
                    if writeln!(std::io::stdout(), "{text}\n").is_err() {
                        return Ok(());
                    }
                }
                () = &mut stop => return Ok(()),
            }
        }
    }
}

fn describe(request: &AdminRequest) -> String {
    match request {
        AdminRequest::Status => "fault status read".to_owned(),
        AdminRequest::SetPlan(plan) => format!("plan set: {plan}"),
        AdminRequest::ClearAll => "everything off: no rules, no laziness, no schedule".to_owned(),
        AdminRequest::LazyOn => "lazy mode on: ramping in".to_owned(),
        AdminRequest::LazyOff => "lazy mode off: ramping out".to_owned(),
        AdminRequest::StartMystery => {
            "a mystery is running: find it from the signals, then `snackdrawer faults guess NAME`"
                .to_owned()
        }
    }
}

/// Draws `screen` into a `width` × `height` buffer and returns it as text.
pub fn render_text(
    screen: &Screen,
    app: &App,
    waterfall: Option<&screen::Waterfall>,
    width: u16,
    height: u16,
) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(never) => match never {},
    };
    if let Err(never) = terminal.draw(|frame| ui::draw(frame, screen, app, waterfall)) {
        match never {}
    }
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.trim_end().to_owned()
}
