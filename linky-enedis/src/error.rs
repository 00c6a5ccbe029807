//! The one error type of linky-enedis, and the classification of Enedis' answers.

use std::fmt;
use std::time::Duration;

/// What a client should do about an answer that is not data (see [`ApiError::classify`]
/// for how answers are classified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// Try again later with backoff (429, 5xx, `slow_down`, timeouts, resets); what was
    /// already fetched stays valid.
    Transient,
    /// The access token expired or was refused: refresh it once and retry.
    TokenExpired,
    /// Consent was revoked, expired or never given, or the refresh token is no longer
    /// valid: stop for this usage point and ask the user to consent again.
    ConsentLost,
    /// There is no data there (before activation, wrong direction, not collected): a
    /// result to remember, not a failure.
    NoData,
    /// The device flow's user has not consented yet: keep polling.
    AuthorizationPending,
    /// The request itself was wrong (dates out of order, an outdated client): retrying
    /// the same request will never work.
    CallerBug,
    /// Anything else: the error carries the status, codes and raw body.
    Unexpected,
}

impl ErrorCategory {
    /// A short lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Transient => "transient",
            ErrorCategory::TokenExpired => "token expired",
            ErrorCategory::ConsentLost => "consent lost",
            ErrorCategory::NoData => "no data",
            ErrorCategory::AuthorizationPending => "authorization pending",
            ErrorCategory::CallerBug => "caller bug",
            ErrorCategory::Unexpected => "unexpected",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An answer from Enedis or a gateway that is not data, classified.
///
/// Built by [`ApiError::classify`] from the status, two headers and the body. Gateways
/// wrap Enedis' own error bodies (sometimes twice); the innermost Enedis code wins.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) category: ErrorCategory,
    pub(crate) code: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) rate_limited: bool,
    pub(crate) permanent: bool,
    pub(crate) raw_body: String,
}

impl ApiError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// What the client should do.
    pub fn category(&self) -> ErrorCategory {
        self.category
    }

    /// The most specific error code found in the body (`ADAM-ERR0069`, `invalid_grant`,
    /// `900901`...), as sent.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The human description found in the body, as sent.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// How long the server asked to wait (`Retry-After`, in seconds or as an HTTP-date
    /// read against the client's clock), if it said; never more than
    /// [`linky_core::RETRY_AFTER_CEILING`].
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Reads a `Retry-After` that [`ApiError::classify`] could not (an HTTP-date) against
    /// `now`.
    pub(crate) fn with_retry_after_at(
        mut self,
        header: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiError {
        if self.retry_after.is_none() {
            self.retry_after = header.and_then(|value| crate::retry_after_wait(value, now));
        }
        self
    }

    /// Whether a quota was hit (429, MyElectricalData's 409, the proxy's `slow_down`).
    pub fn is_rate_limited(&self) -> bool {
        self.rate_limited
    }

    /// Whether this "no data" answer will never change (`ADAM-ERR0069`: the meter has no
    /// such direction) and should be remembered for good.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The body as received (lossy UTF-8, cut to 4 KiB), for bug reports.
    pub fn raw_body(&self) -> &str {
        &self.raw_body
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.status, self.category)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {}", description.trim())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("category", &self.category)
            .field("code", &self.code)
            .field("description", &self.description)
            .field("retry_after", &self.retry_after)
            .field("raw_body", &self.raw_body)
            .finish()
    }
}

/// Everything that can go wrong in linky-enedis.
///
/// Messages are lowercase and chain context with `: `. Callers branch on the predicates
/// ([`Error::category`], [`Error::is_rate_limited`], [`Error::is_consent_lost`],
/// [`Error::retry_after`]) rather than on the variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error.
    #[error("enedis answered {0}")]
    Api(ApiError),
    /// The body is not what its format says (not JSON, a missing or mistyped field).
    #[error("malformed {format} body: {detail}")]
    Malformed {
        /// The format that was expected (`enedis v5`, `data connect 2026`, `json`).
        format: &'static str,
        /// What is wrong, with the position when known.
        detail: String,
    },
    /// The response is about another usage point than the one asked for.
    #[error("response for usage point {received:?}, asked for {asked}")]
    UsagePointMismatch {
        /// The usage point asked for.
        asked: String,
        /// The usage point in the response.
        received: String,
    },
    /// The response does not say which usage point it is about.
    #[error("response carries no usage point, asked for {asked}")]
    MissingUsagePoint {
        /// The usage point asked for.
        asked: String,
    },
    /// The response's unit is not one this measurement can have.
    #[error("unexpected unit {unit:?} for {measurement}: expected {expected}")]
    UnexpectedUnit {
        /// The unit in the payload.
        unit: String,
        /// The measurement being parsed.
        measurement: &'static str,
        /// The units accepted.
        expected: &'static str,
    },
    /// The token store cannot be read or written.
    #[error("token store: {detail}")]
    TokenStore {
        /// What failed, without any secret.
        detail: String,
    },
    /// The request never got an answer: connection refused, reset, timeout, a name that
    /// does not resolve. A retry: the next run may reach it.
    #[error("{backend} request to {host} failed: {detail}")]
    Transport {
        /// The backend.
        backend: &'static str,
        /// The host asked (and its port when not the scheme's), never a path or query.
        host: String,
        /// What happened and its cause, e.g. `could not connect (connection refused)`.
        detail: String,
        /// Whether it was a timeout.
        timeout: bool,
    },
    /// The answer is larger than the client reads
    /// ([`crate::ClientBuilder::max_body_bytes`]): refused, not read further. Retrying
    /// the same request will not make it smaller.
    #[error(
        "{backend} answer too large: over the limit of {limit} bytes ({received} announced or read)"
    )]
    BodyTooLarge {
        /// The backend.
        backend: &'static str,
        /// The limit, in bytes.
        limit: usize,
        /// The length announced, or the bytes read when it passed the limit.
        received: u64,
    },
    /// No consent or token is available: the user must consent first.
    #[error("no consent: {detail}")]
    NoConsent {
        /// What is missing.
        detail: String,
    },
    /// The configuration cannot work (a missing base URL, client id...).
    #[error("invalid configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The response holds no series for the direction asked for.
    #[error("response holds no {flow} series")]
    MissingSeries {
        /// The direction asked for.
        flow: linky_core::Flow,
    },
}

impl Error {
    /// What the client should do about this error. Parse errors and a wrong usage point
    /// are [`ErrorCategory::Unexpected`]: retrying will not fix them.
    pub fn category(&self) -> ErrorCategory {
        match self {
            Error::Api(api) => api.category,
            Error::Transport { .. } => ErrorCategory::Transient,
            Error::NoConsent { .. } => ErrorCategory::ConsentLost,
            Error::Config { .. } => ErrorCategory::CallerBug,
            _ => ErrorCategory::Unexpected,
        }
    }

    /// The classified server answer, when the error is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Whether a quota was hit.
    pub fn is_rate_limited(&self) -> bool {
        self.api().is_some_and(ApiError::is_rate_limited)
    }

    /// Whether consent must be given again.
    pub fn is_consent_lost(&self) -> bool {
        self.category() == ErrorCategory::ConsentLost
    }

    /// Whether trying again later may work.
    pub fn is_transient(&self) -> bool {
        self.category() == ErrorCategory::Transient
    }

    /// Whether the answer means "no data there" (a result, not a failure).
    pub fn is_no_data(&self) -> bool {
        self.category() == ErrorCategory::NoData
    }

    /// How long the server asked to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(ApiError::retry_after)
    }
}
