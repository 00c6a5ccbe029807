//! Raw TIC captures: the bytes a port gave, with when, to record and replay.

use std::fmt::Write as _;

/// One read of a port: when (milliseconds since the capture started) and the bytes.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureChunk {
    /// Milliseconds since the capture started.
    pub at_ms: u64,
    /// The bytes as read (parity bits included).
    pub bytes: Vec<u8>,
}

/// A capture that could not be read: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TIC capture, line {line}: {detail}")]
#[non_exhaustive]
pub struct CaptureError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub detail: String,
}

/// A raw capture of a TIC stream, as text: a header line, then one line per read, its
/// time in milliseconds and its bytes in hexadecimal (so that noise and parity bits
/// survive); `#` starts a comment.
///
/// ```text
/// # linky tic capture 1
/// 0 020a4144434f20303431...
/// 1180 0d03
/// ```
///
/// ```
/// use linky_enedis::tic::TicCapture;
/// let mut capture = TicCapture::new();
/// capture.record(0, b"\x02\nPAPP 01610 )\r");
/// capture.record(120, b"\x03");
/// let text = capture.to_text();
/// assert_eq!(TicCapture::parse(&text).unwrap(), capture);
/// assert_eq!(capture.bytes(), b"\x02\nPAPP 01610 )\r\x03");
/// ```
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicCapture {
    /// The reads, in order.
    pub chunks: Vec<CaptureChunk>,
}

/// The first line of a capture.
const HEADER: &str = "# linky tic capture 1";

impl TicCapture {
    /// An empty capture.
    pub fn new() -> TicCapture {
        TicCapture::default()
    }

    /// Adds a read, `at_ms` after the start (a time before the last one is taken as the
    /// last one: captures never go back).
    pub fn record(&mut self, at_ms: u64, bytes: &[u8]) {
        let at_ms = self
            .chunks
            .last()
            .map_or(at_ms, |last| at_ms.max(last.at_ms));
        self.chunks.push(CaptureChunk {
            at_ms,
            bytes: bytes.to_vec(),
        });
    }

    /// All the bytes, in order.
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.bytes.iter().copied())
            .collect()
    }

    /// How long the capture lasts, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.chunks.last().map_or(0, |chunk| chunk.at_ms)
    }

    /// The capture as text.
    pub fn to_text(&self) -> String {
        let mut text = String::from(HEADER);
        text.push('\n');
        for chunk in &self.chunks {
            let _ = write!(text, "{} ", chunk.at_ms);
            for byte in &chunk.bytes {
                let _ = write!(text, "{byte:02x}");
            }
            text.push('\n');
        }
        text
    }

    /// Reads a capture written by [`TicCapture::to_text`].
    ///
    /// # Errors
    ///
    /// [`CaptureError`] with the line for a missing header, a time that is not a number
    /// or goes back, bytes that are not hexadecimal pairs.
    pub fn parse(text: &str) -> Result<TicCapture, CaptureError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.trim() == HEADER => {}
            _ => {
                return Err(CaptureError {
                    line: 1,
                    detail: format!("not a TIC capture (the first line must be `{HEADER}`)"),
                });
            }
        }
        let mut capture = TicCapture::new();
        for (index, line) in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |detail: String| CaptureError {
                line: index + 1,
                detail,
            };
            let (time, hex) = line.split_once(' ').unwrap_or((line, ""));
            let at_ms: u64 = time
                .parse()
                .map_err(|_| error(format!("time {time:?} is not a number of milliseconds")))?;
            if capture.chunks.last().is_some_and(|last| at_ms < last.at_ms) {
                return Err(error(format!("time {at_ms} goes back")));
            }
            let hex = hex.trim();
            if hex.len() % 2 != 0 {
                return Err(error("an odd number of hexadecimal digits".to_owned()));
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|at| {
                    hex.get(at..at + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                        .ok_or_else(|| {
                            error(format!(
                                "{:?} is not hexadecimal",
                                hex.get(at..at + 2).unwrap_or("")
                            ))
                        })
                })
                .collect::<Result<Vec<u8>, _>>()?;
            capture.chunks.push(CaptureChunk { at_ms, bytes });
        }
        Ok(capture)
    }
}
