//! Reading error bodies: Enedis v5 (`error`/`error_description`), Data Connect 2026
//! (`code`/`message`), the API gateway's `fault`, and the gateways' wrappers (Conso API's
//! `{status, message, error: <enedis body>}`, MyElectricalData's `{detail}`, the older
//! gateways' `{error: "result_400", enedis_return: <enedis body>}`), into one [`ApiError`].

use std::time::Duration;

use serde_json::Value;

use crate::{ApiError, ErrorCategory};

/// Which kind of endpoint answered: the same code means different things on each
/// (`invalid_request` from the token endpoint is a lost consent, from a data endpoint
/// a malformed request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// An OAuth token endpoint (device flow, refresh, client credentials).
    Token,
    /// A data endpoint (load curves, daily series, contracts).
    Data,
}

/// The parts of an error body that matter.
#[derive(Debug, Default)]
struct Found {
    code: Option<String>,
    description: Option<String>,
    /// A status found inside a gateway's wrapper (`result_400`, Conso API's `status`).
    inner_status: Option<u16>,
}

/// The largest part of a body kept in an error.
const RAW_BODY_LIMIT: usize = 4096;

impl ApiError {
    /// Classifies an answer that is not data.
    ///
    /// `www_authenticate` and `retry_after` are the values of those headers, if present.
    /// Codes are compared case-insensitively; a body that is not JSON (an HTML page from a
    /// proxy) is classified by its status alone.
    ///
    /// ```
    /// use linky_enedis::{ApiError, Endpoint, ErrorCategory};
    /// let body = br#"{"error":"ADAM-ERR0069","error_description":"Le sens de la mesure ne correspond pas"}"#;
    /// let error = ApiError::classify(Endpoint::Data, 400, None, None, body);
    /// assert_eq!(error.category(), ErrorCategory::NoData);
    /// assert!(error.is_permanent());
    /// assert_eq!(error.code(), Some("ADAM-ERR0069"));
    /// ```
    pub fn classify(
        endpoint: Endpoint,
        status: u16,
        www_authenticate: Option<&str>,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> ApiError {
        let found = serde_json::from_slice::<Value>(body)
            .map(|value| find_error(&value))
            .unwrap_or_default();
        let effective_status = found.inner_status.unwrap_or(status);
        let code_lower = found.code.as_deref().map(str::to_ascii_lowercase);
        let description_lower = found
            .description
            .as_deref()
            .map(str::to_lowercase)
            .unwrap_or_default();
        let header_says_invalid_token = www_authenticate
            .is_some_and(|value| value.to_ascii_lowercase().contains("invalid_token"));

        let by_code = code_lower
            .as_deref()
            .and_then(|code| category_of_code(endpoint, code));
        let category = by_code.unwrap_or_else(|| {
            if header_says_invalid_token {
                return ErrorCategory::TokenExpired;
            }
            match effective_status {
                401 => ErrorCategory::TokenExpired,
                403 if description_lower.contains("access token not found") => {
                    ErrorCategory::TokenExpired
                }
                404 => ErrorCategory::NoData,
                408 | 409 | 425 | 429 | 500..=599 => ErrorCategory::Transient,
                _ => ErrorCategory::Unexpected,
            }
        });
        let rate_limited = matches!(status, 429 | 409)
            || effective_status == 429
            || code_lower.as_deref() == Some("slow_down");
        let mut raw_body =
            String::from_utf8_lossy(&body[..body.len().min(RAW_BODY_LIMIT)]).into_owned();
        if body.len() > RAW_BODY_LIMIT {
            raw_body.push_str("...");
        }
        ApiError {
            status,
            category,
            permanent: code_lower.as_deref() == Some("adam-err0069"),
            rate_limited,
            retry_after: retry_after.and_then(parse_retry_after),
            code: found.code,
            description: found.description,
            raw_body,
        }
    }
}

/// The category a code decides by itself, whatever the status.
fn category_of_code(endpoint: Endpoint, code: &str) -> Option<ErrorCategory> {
    let category = match code {
        "authorization_pending" => ErrorCategory::AuthorizationPending,
        "slow_down" | "technical_error" | "temporarily_unavailable" => ErrorCategory::Transient,
        "invalid_grant" | "expired_token" | "access_denied" => ErrorCategory::ConsentLost,
        "invalid_request" | "unauthorized" if endpoint == Endpoint::Token => {
            ErrorCategory::ConsentLost
        }
        "adam-dc-0008" | "adam-dc-0007" | "unauthorized_user" => ErrorCategory::ConsentLost,
        "invalid_token" | "900901" => ErrorCategory::TokenExpired,
        "no_data_found" | "adam-err0123" | "adam-err0069" | "adam-err0125" | "adam-err0075" => {
            ErrorCategory::NoData
        }
        "invalid_request" | "invalid_client" | "unsupported_grant_type" | "version_mismatch" => {
            ErrorCategory::CallerBug
        }
        _ => return None,
    };
    Some(category)
}

/// Finds the innermost error code and description of a (possibly wrapped) body.
fn find_error(value: &Value) -> Found {
    let Some(object) = value.as_object() else {
        return Found::default();
    };
    // Older gateways: {"error": "result_400", "enedis_return": {...}}, nested.
    if let Some(inner) = object.get("enedis_return").filter(|v| v.is_object()) {
        let mut found = find_error(inner);
        if found.inner_status.is_none() {
            found.inner_status = object
                .get("error")
                .and_then(Value::as_str)
                .and_then(|text| text.strip_prefix("result_"))
                .and_then(|digits| digits.parse().ok());
        }
        if found.code.is_some() || found.description.is_some() {
            return found;
        }
    }
    // Conso API: {"status": 400, "message": "...", "error": {<enedis body>}}.
    if let Some(inner) = object.get("error").filter(|v| v.is_object()) {
        let mut found = find_error(inner);
        found.inner_status = found.inner_status.or_else(|| status_field(object));
        if found.description.is_none() {
            found.description = text_field(object, "message");
        }
        return found;
    }
    // The API gateway (WSO2): {"fault": {"code": 900901, "message", "description"}}.
    if let Some(fault) = object.get("fault").and_then(Value::as_object) {
        return Found {
            code: fault.get("code").and_then(scalar_text),
            description: joined_description(fault),
            inner_status: None,
        };
    }
    // Enedis v5 and OAuth: {"error": "...", "error_description": "..."}.
    if let Some(code) = object.get("error").and_then(Value::as_str) {
        return Found {
            code: Some(code.to_owned()),
            description: text_field(object, "error_description"),
            inner_status: None,
        };
    }
    // Data Connect 2026: {"code": "...", "message": "...", "description": "..."}.
    if let Some(code) = object.get("code").and_then(scalar_text) {
        return Found {
            code: Some(code),
            description: joined_description(object),
            inner_status: None,
        };
    }
    // MyElectricalData: {"detail": ...}; Conso API without an Enedis body.
    Found {
        code: None,
        description: object
            .get("detail")
            .map(|detail| scalar_text(detail).unwrap_or_else(|| detail.to_string()))
            .or_else(|| text_field(object, "message"))
            .or_else(|| text_field(object, "description")),
        inner_status: status_field(object),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn text_field(object: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(scalar_text)
}

fn status_field(object: &serde_json::Map<String, Value>) -> Option<u16> {
    object
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|status| u16::try_from(status).ok())
        .filter(|status| (400..600).contains(status))
}

fn joined_description(object: &serde_json::Map<String, Value>) -> Option<String> {
    let parts: Vec<String> = ["message", "description"]
        .iter()
        .filter_map(|key| text_field(object, key))
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(": "))
}

/// `Retry-After` as delta-seconds, capped at [`linky_core::RETRY_AFTER_CEILING`] (a count
/// of digits too large for any integer is the ceiling too). An HTTP-date needs a clock:
/// [`retry_after_wait`] reads both forms, and the clients use it.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(linky_core::RETRY_AFTER_CEILING))
}

/// How long a `Retry-After` header asks to wait at `now`: delta-seconds or an HTTP-date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), capped at [`linky_core::RETRY_AFTER_CEILING`]; a
/// date already past is no wait. Anything else is `None`, whatever its size: a header never
/// panics a caller.
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use linky_enedis::retry_after_wait;
/// let now = Utc.with_ymd_and_hms(2024, 6, 20, 9, 0, 0).unwrap();
/// assert_eq!(retry_after_wait("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(retry_after_wait("Thu, 20 Jun 2024 09:05:00 GMT", now), Some(Duration::from_secs(300)));
/// assert_eq!(retry_after_wait("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(linky_core::RETRY_AFTER_CEILING));
/// assert_eq!(retry_after_wait("99999999999999999999999", now), Some(linky_core::RETRY_AFTER_CEILING));
/// assert_eq!(retry_after_wait("soon", now), None);
/// ```
pub fn retry_after_wait(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Some(wait) = parse_retry_after(value) {
        return Some(wait);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at
        .signed_duration_since(now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(linky_core::RETRY_AFTER_CEILING))
}
