//! Serving a recorded session on 127.0.0.1, so that the real client, HTTP stack included,
//! runs against it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::{Exchange, Fault, Session};

/// What went wrong in a replay: requests that did not match the session, and exchanges
/// the client never asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay failed:\n{}", .problems.join("\n"))]
#[non_exhaustive]
pub struct ReplayError {
    /// One line per problem, with the expected and actual request.
    pub problems: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    next: usize,
    problems: Vec<String>,
    served: usize,
    /// Requests may skip exchanges ([`ReplayServer::allow_subset`]): which were used.
    subset: Option<Vec<bool>>,
}

/// A local HTTP server that answers each request with the session's next exchange.
/// A request that does not match is answered at once with the diff (status 418, body
/// `{"error": "replay_mismatch", "error_description": <diff>}`: not a transient error, so
/// a client does not retry it), and reported by [`ReplayServer::finish`], as is any
/// exchange left unused.
#[derive(Debug)]
pub struct ReplayServer {
    address: SocketAddr,
    exchanges: Arc<Vec<Exchange>>,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
    backend: String,
    replay: Option<super::ReplayInfo>,
    usage_points: Vec<String>,
}

impl ReplayServer {
    /// Starts serving `session` on 127.0.0.1 at a free port.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Config`] when no local port can be bound.
    pub async fn start(session: Session) -> Result<ReplayServer, crate::Error> {
        let listener =
            TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|error| crate::Error::Config {
                    detail: format!("cannot bind a local port for the replay: {error}"),
                })?;
        let address = listener
            .local_addr()
            .map_err(|error| crate::Error::Config {
                detail: format!("no local address: {error}"),
            })?;
        let usage_points = session
            .replay
            .as_ref()
            .map(|info| info.usage_points.clone())
            .unwrap_or_else(|| session.usage_points());
        let exchanges = Arc::new(session.exchanges);
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn(serve(listener, exchanges.clone(), state.clone()));
        Ok(ReplayServer {
            address,
            exchanges,
            state,
            task,
            backend: session.backend,
            replay: session.replay,
            usage_points,
        })
    }

    /// What the session says replaying it needs, if it says.
    pub fn replay_info(&self) -> Option<&super::ReplayInfo> {
        self.replay.as_ref()
    }

    /// A client of the session's backend at this server, ready to replay it: tokens in
    /// memory (the session's usage points), the session's time on a
    /// [`linky_core::ManualClock`] (waits are instant, token expiry follows the session),
    /// no rate limit, quick retries.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Config`] for a backend name this crate does not know.
    #[cfg(feature = "client")]
    pub fn client(&self) -> Result<crate::Client, crate::Error> {
        use crate::{ApiToken, Backend, ClientSecret, TokenStore};
        let base_url = self.base_url();
        let usage_points = self.usage_points.clone();
        let backend = match self.backend.as_str() {
            "proxy" | "" => Backend::Proxy {
                base_url,
                client_id: "replay".to_owned(),
            },
            "conso api" => Backend::ConsoApi {
                base_url,
                token: ApiToken::new("replayed"),
                usage_points: usage_points.clone(),
            },
            "myelectricaldata" => Backend::MyElectricalData {
                base_url,
                token: ApiToken::new("replayed"),
                usage_points: usage_points.clone(),
                use_cache: true,
            },
            "data connect 2026" => Backend::DataConnect2026 {
                base_url,
                client_id: "replay".to_owned(),
                client_secret: ClientSecret::new("replayed"),
                usage_points: usage_points.clone(),
            },
            "data connect v5" => Backend::DataConnectV5 {
                base_url,
                client_id: "replay".to_owned(),
                client_secret: ClientSecret::new("replayed"),
                usage_points: usage_points.clone(),
            },
            other => {
                return Err(crate::Error::Config {
                    detail: format!("the session's backend {other:?} is not one this client knows"),
                });
            }
        };
        let now = self
            .replay
            .as_ref()
            .map_or_else(super::sandbox_now, |info| info.now);
        let start = now
            .and_local_timezone(linky_core::PARIS)
            .earliest()
            .ok_or_else(|| crate::Error::Config {
                detail: format!("the session's time {now} does not exist in Paris"),
            })?
            .with_timezone(&chrono::Utc);
        let clock = Arc::new(linky_core::ManualClock::new(start));
        let tokens = Arc::new(crate::MemoryTokenStore::default());
        tokens.save(&crate::TokenSet {
            access_token: crate::AccessToken::new("replayed"),
            refresh_token: Some(crate::RefreshToken::new("replayed")),
            expires_at: std::time::SystemTime::from(start) + Duration::from_secs(3 * 3600),
            usage_points,
        })?;
        crate::Client::builder(backend)
            .max_per_second(1_000_000)
            .retry(linky_core::RetryPolicy::new(
                Duration::from_millis(100),
                Duration::from_secs(1),
                4,
            ))
            .clock(clock)
            .jitter_seed(1)
            .token_store(tokens)
            .build()
    }

    /// The base URL to give the client (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Lets a client ask for part of the session, in any order: from now on each request
    /// is answered by the first unused exchange that matches it, and [`ReplayServer::finish`]
    /// reports only requests the session does not hold, not the exchanges left unused. For
    /// a program that asks for less than the recorded run did (the curve alone, say).
    ///
    /// ```no_run
    /// # async fn demo(session: linky_enedis::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// let server = linky_enedis::ReplayServer::start(session).await?;
    /// server.allow_subset();
    /// // ... ask for the load curve only ...
    /// server.finish()?; // the peaks' exchange, never asked for, is not an error
    /// # Ok(()) }
    /// ```
    pub fn allow_subset(&self) {
        if let Ok(mut state) = self.state.lock() {
            let mut used = vec![false; self.exchanges.len()];
            for slot in used.iter_mut().take(state.next) {
                *slot = true;
            }
            state.subset = Some(used);
        }
    }

    /// How many exchanges have been served so far.
    pub fn served(&self) -> usize {
        self.state.lock().map(|s| s.served).unwrap_or(0)
    }

    /// Stops the server and says whether the client asked for exactly the session.
    ///
    /// # Errors
    ///
    /// A [`ReplayError`] listing mismatched requests and unused exchanges.
    pub fn finish(self) -> Result<(), ReplayError> {
        self.task.abort();
        // Unused exchanges count from the next expected one; a subset leaves them unused.
        let (skip, mut problems) = self
            .state
            .lock()
            .map(|s| {
                let skip = if s.subset.is_some() {
                    self.exchanges.len()
                } else {
                    s.next
                };
                (skip, s.problems.clone())
            })
            .unwrap_or_default();
        for (index, unused) in self.exchanges.iter().enumerate().skip(skip) {
            problems.push(format!(
                "exchange {index} never requested: {} {}",
                unused.request.method, unused.request.path
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ReplayError { problems })
        }
    }
}

async fn serve(listener: TcpListener, exchanges: Arc<Vec<Exchange>>, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, exchanges.clone(), state.clone()));
    }
}

/// One connection: requests in a keep-alive loop.
async fn connection(stream: TcpStream, exchanges: Arc<Vec<Exchange>>, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path)) = read_request(&mut reader).await else {
            return;
        };
        let (exchange, mismatch) = {
            let Ok(mut state) = state.lock() else { return };
            next_exchange(&mut state, &exchanges, &method, &path)
        };
        let stream = reader.get_mut();
        let written = match (exchange, mismatch) {
            (Some(exchange), _) => answer(stream, &exchange).await,
            (None, diff) => {
                let body = serde_json::json!({
                    "error": "replay_mismatch",
                    "error_description": diff.unwrap_or_default(),
                });
                write_response(
                    stream,
                    418,
                    &Default::default(),
                    body.to_string().as_bytes(),
                )
                .await
            }
        };
        if !written {
            return;
        }
    }
}

/// The exchange that answers a request, or the diff that says why none does.
fn next_exchange(
    state: &mut State,
    exchanges: &[Exchange],
    method: &str,
    path: &str,
) -> (Option<Exchange>, Option<String>) {
    if let Some(used) = &mut state.subset {
        let found =
            (0..exchanges.len()).find(|at| !used[*at] && matches(&exchanges[*at], method, path));
        return match found {
            Some(at) => {
                used[at] = true;
                state.served += 1;
                (Some(exchanges[at].clone()), None)
            }
            None => {
                let diff = format!(
                    "request {}: {method} {path} is not in the session (or asked once more than recorded)",
                    state.served
                );
                state.problems.push(diff.clone());
                (None, Some(diff))
            }
        };
    }
    let index = state.next;
    match exchanges.get(index) {
        Some(expected) if matches(expected, method, path) => {
            state.next += 1;
            state.served += 1;
            (Some(expected.clone()), None)
        }
        Some(expected) => {
            let diff = format!(
                "request {index} differs:\n  expected {} {}\n  actual   {method} {path}",
                expected.request.method, expected.request.path
            );
            state.problems.push(diff.clone());
            (None, Some(diff))
        }
        None => {
            let diff = format!("extra request {index}: {method} {path}");
            state.problems.push(diff.clone());
            (None, Some(diff))
        }
    }
}

fn matches(expected: &Exchange, method: &str, path: &str) -> bool {
    expected.request.method.eq_ignore_ascii_case(method)
        && (method.eq_ignore_ascii_case("POST")
            && expected.request.path.split('?').next() == path.split('?').next()
            || expected.request.path == path)
}

/// Reads a request head and body; `None` at the end of the connection.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, path))
}

/// Answers with a recorded response or its fault; false when the connection must close.
async fn answer(stream: &mut TcpStream, exchange: &Exchange) -> bool {
    let response = &exchange.response;
    let body = response.body_bytes();
    match &response.fault {
        None => write_response(stream, response.status, &response.headers, &body).await,
        Some(Fault::Stall { stall_ms }) => {
            tokio::time::sleep(Duration::from_millis(*stall_ms)).await;
            write_response(stream, response.status, &response.headers, &body).await
        }
        Some(Fault::Reset) => {
            let head = format!(
                "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                response.status,
                body.len().max(2)
            );
            let half = &body[..body.len() / 2];
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(half).await;
            let _ = stream.shutdown().await;
            false
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &std::collections::BTreeMap<String, String>,
    body: &[u8],
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        if status == 200 { "OK" } else { "Replayed" },
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // One write: a head and a body written apart wait for the client's delayed ACK.
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message).await.is_ok()
}
