//! Secrets as newtypes that never print: tokens, client secrets.

use std::fmt;

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> $name {
                $name(value.into())
            }

            /// The secret itself, for the one place that must send it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

secret!(
    /// An OAuth access token (bearer).
    AccessToken
);
secret!(
    /// An OAuth refresh token (the proxy's lasts about four years).
    RefreshToken
);
secret!(
    /// An application's client secret (Enedis Data Connect, direct).
    ClientSecret
);
secret!(
    /// A gateway's personal token (Conso API, MyElectricalData).
    ApiToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let token = AccessToken::new("eyJhbGciOi.secret");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(token.to_string(), "[redacted]");
        assert_eq!(token.expose(), "eyJhbGciOi.secret");
    }
}
