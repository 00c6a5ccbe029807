//! Tokens and where they are kept between runs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::secret::{AccessToken, RefreshToken};

/// Renew an access token this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(10 * 60);

/// The tokens of one consent (or one client-credentials grant).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The bearer token sent with data requests.
    pub access_token: AccessToken,
    /// The refresh token, when the grant has one (the proxy's device flow).
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires.
    pub expires_at: SystemTime,
    /// The usage points the consent covers, as the proxy listed them.
    pub usage_points: Vec<String>,
}

impl TokenSet {
    /// Whether the access token should be renewed at `now` (10 minutes before expiry).
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        now + REFRESH_MARGIN >= self.expires_at
    }
}

/// Where tokens live between runs.
pub trait TokenStore: Send + Sync {
    /// The stored tokens, if any.
    ///
    /// # Errors
    ///
    /// [`Error::TokenStore`] when the store exists but cannot be read.
    fn load(&self) -> Result<Option<TokenSet>, Error>;

    /// Replaces the stored tokens.
    ///
    /// # Errors
    ///
    /// [`Error::TokenStore`] when they cannot be written; the previous tokens stay.
    fn save(&self, tokens: &TokenSet) -> Result<(), Error>;

    /// Forgets the stored tokens (consent lost).
    ///
    /// # Errors
    ///
    /// [`Error::TokenStore`] when they cannot be removed.
    fn clear(&self) -> Result<(), Error>;
}

/// Tokens in memory only (tests, one-shot tools).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: std::sync::Mutex<Option<TokenSet>>,
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, Error> {
        Ok(self.tokens.lock().map(|t| t.clone()).unwrap_or_default())
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        if let Ok(mut stored) = self.tokens.lock() {
            *stored = Some(tokens.clone());
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), Error> {
        if let Ok(mut stored) = self.tokens.lock() {
            *stored = None;
        }
        Ok(())
    }
}

/// Tokens in a JSON file, written atomically (a temporary file in the same folder,
/// flushed to disk, then renamed over the old one, and the folder synced) with owner-only
/// permissions: a crash mid-write leaves the old file or the new one, never half of one.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_at_unix: u64,
    usage_points: Vec<String>,
}

impl FileTokenStore {
    /// A store at `path` (its folder must exist).
    pub fn new(path: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore { path: path.into() }
    }

    /// Where the tokens are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, action: &str, detail: impl std::fmt::Display) -> Error {
        Error::TokenStore {
            detail: format!("{action} {}: {detail}", self.path.display()),
        }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, Error> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error("cannot read", error)),
        };
        // The file's content is never quoted in the error: it holds secrets.
        let stored: StoredTokens = serde_json::from_slice(&bytes).map_err(|error| {
            self.error(
                "corrupt token file",
                format!("line {} column {}", error.line(), error.column()),
            )
        })?;
        Ok(Some(TokenSet {
            access_token: AccessToken::new(stored.access_token),
            refresh_token: stored.refresh_token.map(RefreshToken::new),
            // A hand-edited expiry past the year 9999 is read as then, never an overflow.
            expires_at: UNIX_EPOCH
                .checked_add(Duration::from_secs(
                    stored.expires_at_unix.min(LAST_UNIX_SECOND),
                ))
                .unwrap_or(UNIX_EPOCH),
            usage_points: stored.usage_points,
        }))
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        let stored = StoredTokens {
            access_token: tokens.access_token.expose().to_owned(),
            refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            expires_at_unix: tokens
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            usage_points: tokens.usage_points.clone(),
        };
        let bytes =
            serde_json::to_vec_pretty(&stored).map_err(|e| self.error("cannot encode", e))?;
        let folder = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut options = fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            // The rename itself must reach the disk.
            if let Ok(directory) = fs::File::open(folder) {
                directory.sync_all().ok();
            }
            Ok(())
        };
        write().map_err(|error| {
            fs::remove_file(&temporary).ok();
            self.error("cannot write", error)
        })
    }

    fn clear(&self) -> Result<(), Error> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(self.error("cannot remove", error)),
        }
    }
}

/// The longest life a token is believed to have: a year. A server's `expires_in` beyond it
/// is read as a year (a 401 renews the token anyway).
const LONGEST_TOKEN_LIFE: Duration = Duration::from_secs(366 * 24 * 3600);

/// 9999-12-31 23:59:59 UTC: the latest expiry a token file is read with.
const LAST_UNIX_SECOND: u64 = 253_402_300_799;

/// `base` (the clock's now) plus a server's `expires_in`, capped at [`LONGEST_TOKEN_LIFE`]
/// so that it never overflows the system's time (which would panic).
pub(crate) fn expiry_after(base: SystemTime, seconds: u64) -> SystemTime {
    let life = Duration::from_secs(seconds).min(LONGEST_TOKEN_LIFE);
    base.checked_add(life).unwrap_or(base)
}
