//! One authenticated connection to Home Assistant's websocket API: the handshake, then
//! commands whose answers are matched by id (event frames and pings in between are read
//! and passed over).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::SINK;
use crate::{Password, SinkError};

/// How long one command may take to be answered (an import of 5000 rows is answered in
/// well under a second; reading two years of one series in a few).
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The websocket address of a Home Assistant at `url` (`http://host:8123`, `https://...`
/// or already `ws://.../api/websocket`).
pub(super) fn websocket_url(url: &str) -> Result<String, SinkError> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or_else(|| SinkError::Config {
        detail: format!("home assistant url {url:?} has no scheme: give http://host:8123"),
    })?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(SinkError::Config {
                detail: format!(
                    "home assistant url {url:?}: {other:?} is not http, https, ws or wss"
                ),
            });
        }
    };
    let rest = rest.strip_suffix("/api/websocket").unwrap_or(rest);
    if rest.is_empty() {
        return Err(SinkError::Config {
            detail: format!("home assistant url {url:?} names no host"),
        });
    }
    Ok(format!("{scheme}://{rest}/api/websocket"))
}

/// Home Assistant's version, as it says in its first frame (`2025.4.4`): year and month.
pub(super) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let year = parts.next()?.parse().ok()?;
    let month = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((year, month))
}

/// An open, authenticated connection.
pub(super) struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The version Home Assistant announced (`2025.4.4`).
    pub(super) version: String,
}

fn unavailable(detail: impl Into<String>) -> SinkError {
    SinkError::Unavailable {
        sink: SINK,
        detail: detail.into(),
    }
}

impl Socket {
    /// Connects to `url` (see [`websocket_url`]) and authenticates with `token`.
    pub(super) async fn connect(url: &str, token: &Password) -> Result<Socket, SinkError> {
        let address = websocket_url(url)?;
        let (stream, _) = tokio::time::timeout(
            ANSWER_TIMEOUT,
            tokio_tungstenite::connect_async(address.as_str()),
        )
        .await
        .map_err(|_| unavailable(format!("{address}: no answer to the connection")))?
        .map_err(|error| unavailable(format!("{address}: {error}")))?;
        let mut socket = Socket {
            stream,
            next_id: 1,
            version: String::new(),
        };
        let hello = socket.receive().await?;
        if hello["type"] != "auth_required" {
            return Err(SinkError::Unexpected {
                sink: SINK,
                detail: format!("{address} did not ask to authenticate: {hello}"),
            });
        }
        socket.version = hello["ha_version"].as_str().unwrap_or_default().to_owned();
        socket
            .send(json!({"type": "auth", "access_token": token.expose()}))
            .await?;
        let answer = socket.receive().await?;
        match answer["type"].as_str() {
            Some("auth_ok") => Ok(socket),
            Some("auth_invalid") => Err(SinkError::Unauthorized {
                sink: SINK,
                detail: format!(
                    "{} (create a long-lived access token in your Home Assistant profile)",
                    answer["message"].as_str().unwrap_or("invalid access token")
                ),
            }),
            _ => Err(SinkError::Unexpected {
                sink: SINK,
                detail: format!("unexpected answer to the authentication: {answer}"),
            }),
        }
    }

    async fn send(&mut self, message: Value) -> Result<(), SinkError> {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .map_err(|error| unavailable(format!("the connection closed: {error}")))
    }

    /// The next JSON frame (pings answered on the way).
    async fn receive(&mut self) -> Result<Value, SinkError> {
        loop {
            let frame = tokio::time::timeout(ANSWER_TIMEOUT, self.stream.next())
                .await
                .map_err(|_| unavailable("no answer within two minutes"))?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text).map_err(|error| SinkError::Unexpected {
                        sink: SINK,
                        detail: format!("a frame that is not JSON: {error}"),
                    });
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or_else(String::new, |frame| {
                        format!(" (code {}: {})", u16::from(frame.code), frame.reason)
                    });
                    return Err(unavailable(format!(
                        "home assistant closed the connection{why}"
                    )));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    return Err(unavailable(format!("the connection failed: {error}")));
                }
                None => return Err(unavailable("the connection closed")),
            }
        }
    }

    /// Sends `command` (an object without `id`) and returns its `result`. A refusal is
    /// [`SinkError::Rejected`] with Home Assistant's code and message.
    pub(super) async fn command(&mut self, mut command: Value) -> Result<Value, SinkError> {
        let id = self.next_id;
        self.next_id += 1;
        command["id"] = json!(id);
        let kind = command["type"].as_str().unwrap_or_default().to_owned();
        self.send(command).await?;
        loop {
            let answer = self.receive().await?;
            if answer["id"].as_u64() != Some(id) {
                continue; // an event, or an answer to nothing we wait for
            }
            if answer["type"] == "pong" {
                return Ok(Value::Null);
            }
            if answer["success"] == true {
                return Ok(answer["result"].clone());
            }
            let code = answer["error"]["code"].as_str().unwrap_or("error");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            return Err(SinkError::Rejected {
                sink: SINK,
                what: format!("{kind} ({code}: {message})"),
            });
        }
    }

    /// Closes the connection politely.
    pub(super) async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_versions() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8123/").unwrap(),
            "ws://127.0.0.1:8123/api/websocket"
        );
        assert_eq!(
            websocket_url("https://home.example:443").unwrap(),
            "wss://home.example:443/api/websocket"
        );
        assert_eq!(
            websocket_url("ws://h:1/api/websocket").unwrap(),
            "ws://h:1/api/websocket"
        );
        assert!(websocket_url("h:8123").is_err());
        assert!(websocket_url("ftp://h").is_err());
        assert_eq!(parse_version("2025.4.4"), Some((2025, 4)));
        assert_eq!(parse_version("2025.11.0b3"), Some((2025, 11)));
        assert_eq!(parse_version("2026.2.0.dev2026"), Some((2026, 2)));
        assert_eq!(parse_version("dev"), None);
    }
}
