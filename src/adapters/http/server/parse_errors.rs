//! hyper answers a request it cannot parse by itself, before any service sees it, with an empty
//! body: 400 (bad method, target, version or header), 414 (target too long), 431 (head too
//! large, or too many headers). hyper 1 offers no hook to shape those answers, so this socket
//! wrapper recognises them on their way out and writes them again with the contract's JSON
//! error body.
//!
//! They are recognisable: the whole write is one head (the server writes each response in one
//! buffer, see `serve`) with `connection: close` and `content-length: 0`, and the service never
//! answers those statuses without a body.

use crate::adapters::http::error::error_body;
use axum::http::StatusCode;
use pin_project_lite::pin_project;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pin_project! {
    pub struct JsonParseErrors<T> {
        #[pin]
        io: T,
        rewrite: Option<Rewrite>,
    }
}

/// The answer written in place of hyper's, how much of it is out, and the length of hyper's
/// (which is what its write reports).
struct Rewrite {
    answer: Vec<u8>,
    written: usize,
    replaces: usize,
}

impl<T> JsonParseErrors<T> {
    pub fn new(io: T) -> Self {
        Self { io, rewrite: None }
    }
}

/// The answer to write instead of `head`, when `head` is one of hyper's automatic answers.
fn rewritten(head: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(head).ok()?;
    let status = head.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let description = match status {
        "400" => {
            "the request is not valid HTTP/1.1: its method, target, version or a header \
                  could not be read"
        }
        "414" => "the request target is too long",
        "431" => "the request's headers are too large or too many",
        _ => return None,
    };
    let empty = "\r\nconnection: close\r\ncontent-length: 0\r\n";
    if !head.contains(empty) || head.find("\r\n\r\n")? + 4 != head.len() {
        return None;
    }
    let status = StatusCode::from_bytes(status.as_bytes()).ok()?;
    let body = error_body(status, description);
    let headers = format!(
        "\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    Some(format!("{}{body}", head.replacen(empty, &headers, 1)).into_bytes())
}

impl<T: AsyncRead> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut this = self.project();
        if this.rewrite.is_none() {
            match rewritten(buf) {
                Some(answer) => {
                    *this.rewrite = Some(Rewrite { answer, written: 0, replaces: buf.len() })
                }
                None => return this.io.poll_write(cx, buf),
            }
        }
        let rewrite = this.rewrite.as_mut().expect("set above");
        while rewrite.written < rewrite.answer.len() {
            let written =
                ready!(this.io.as_mut().poll_write(cx, &rewrite.answer[rewrite.written..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            rewrite.written += written;
        }
        Poll::Ready(Ok(rewrite.replaces))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewritten;

    #[test]
    fn hyper_s_empty_answers_get_the_contract_s_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
                     content-length: 0\r\ndate: Tue, 01 Dec 2026 20:12:45 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten(head).unwrap()).unwrap();
        let body = r#"{"error":"431 Request Header Fields Too Large: the request's headers are too large or too many"}"#;
        assert_eq!(
            answer,
            format!(
                "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\
                 date: Tue, 01 Dec 2026 20:12:45 GMT\r\n\r\n{body}",
                body.len()
            )
        );
    }

    #[test]
    fn the_service_s_own_answers_pass_untouched() {
        for response in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 20\r\n\r\n{\"error\": \"400 ...\"}"[..],
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n{}",
        ] {
            assert_eq!(rewritten(response), None, "{}", String::from_utf8_lossy(response));
        }
    }
}
