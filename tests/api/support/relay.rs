//! A TCP relay in front of the test PostgreSQL server (127.0.0.1:5432), which a test can cut
//! (close the port and every relayed connection, like a network outage or a stopped server)
//! and restore, or freeze (keep every connection open but forward nothing, like a frozen
//! server or a network that drops packets; the shared server must never be stopped) and
//! thaw.

use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

const POSTGRES: &str = "127.0.0.1:5432";

pub struct Relay {
    pub address: SocketAddr,
    tasks: Option<JoinSet<()>>,
    frozen: watch::Sender<bool>,
}

impl Relay {
    pub async fn start() -> Self {
        let address = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let mut relay = Self { address, tasks: None, frozen: watch::Sender::new(false) };
        relay.restore();
        relay
    }

    /// `url`'s database, reached through the relay.
    pub fn url_for(&self, url: &str) -> String {
        let (_, name) = url.rsplit_once('/').unwrap();
        format!("postgres://postgres@{}/{name}", self.address)
    }

    /// Starts accepting again on the same port.
    pub fn restore(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.address).unwrap();
        let listener = socket.listen(64).unwrap();
        let frozen = self.frozen.subscribe();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let frozen = frozen.clone();
                connections.spawn(async move {
                    if *frozen.borrow() {
                        // Lost, as a connection to a frozen host is: held open, never answered.
                        let _held = client;
                        return std::future::pending().await;
                    }
                    if let Ok(server) = TcpStream::connect(POSTGRES).await {
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        tokio::join!(
                            pump(client_read, server_write, frozen.clone()),
                            pump(server_read, client_write, frozen),
                        );
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the port and every relayed connection.
    pub async fn cut(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }

    /// Stops forwarding anything until `thaw` on the connections already open; those opened
    /// meanwhile are never answered, even after.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

async fn thawed(frozen: &mut watch::Receiver<bool>) {
    let _ = frozen.wait_for(|frozen| !frozen).await;
}

/// Copies `from` to `to`, holding back whatever arrives while frozen.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        thawed(&mut frozen).await;
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        thawed(&mut frozen).await;
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
