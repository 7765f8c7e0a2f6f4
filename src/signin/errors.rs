//! What the Sign-In service's errors mean and what to do next: the `OAuth2ErrorCode`s of
//! `CreateOAuth2Token` (notes section 8), read from the rest-json error answer, worded for
//! people with a hint each. Pure. Must not: quote a token or key (the service's `message`
//! is kept; it names no secret).

use std::fmt;

/// The `error` member of the service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    TokenExpired,
    UserCredentialsChanged,
    InsufficientPermissions,
    AuthcodeExpired,
    InvalidRequest,
    ServerError,
    /// Any other code (the newer model adds several): treated generically.
    Other(String),
}

impl Code {
    pub fn parse(text: &str) -> Code {
        match text {
            "TOKEN_EXPIRED" => Code::TokenExpired,
            "USER_CREDENTIALS_CHANGED" => Code::UserCredentialsChanged,
            "INSUFFICIENT_PERMISSIONS" => Code::InsufficientPermissions,
            "AUTHCODE_EXPIRED" => Code::AuthcodeExpired,
            // The newer model has lower-case OAuth codes too.
            "INVALID_REQUEST" | "invalid_request" | "invalid_grant" => Code::InvalidRequest,
            "server_error" | "SERVER_ERROR" => Code::ServerError,
            other => Code::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Code::TokenExpired => "TOKEN_EXPIRED",
            Code::UserCredentialsChanged => "USER_CREDENTIALS_CHANGED",
            Code::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            Code::AuthcodeExpired => "AUTHCODE_EXPIRED",
            Code::InvalidRequest => "INVALID_REQUEST",
            Code::ServerError => "server_error",
            Code::Other(code) => code,
        }
    }
}

/// Which call failed: the first redemption of a sign-in, or a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
}

/// A `CreateOAuth2Token` answer that was not 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    /// `x-amzn-ErrorType` (or the body's `__type` / `code`) without its `:` suffix, e.g.
    /// `AccessDeniedException`.
    pub kind: Option<String>,
    pub code: Code,
    pub message: Option<String>,
    pub grant: Grant,
}

/// The policy that allows sign-in sessions (`signin:AuthorizeOAuth2Access`,
/// `signin:CreateOAuth2Token` on `arn:aws:signin:*:*:oauth2/public-client/*`).
pub const POLICY: &str = "SignInLocalDevelopmentAccess";

impl ServiceError {
    /// Reads the answer: the code from the body's `error`, the shape from the header or the
    /// body, as botocore accepts any of them (which one the service sends is not known).
    pub fn parse(status: u16, error_type: Option<&str>, body: &[u8], grant: Grant) -> ServiceError {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let shape = |s: String| {
            let s = s.split(':').next().unwrap_or_default();
            s.rsplit('#').next().unwrap_or_default().to_string()
        };
        let kind = error_type
            .map(str::to_string)
            .or_else(|| text("__type"))
            .or_else(|| text("code"))
            .map(shape)
            .filter(|s| !s.is_empty());
        let code = match text("error") {
            Some(code) => Code::parse(&code),
            None if status >= 500 => Code::ServerError,
            None => Code::Other(kind.clone().unwrap_or_else(|| format!("HTTP {status}"))),
        };
        let message = text("message")
            .or_else(|| text("Message"))
            .or_else(|| text("error_description"))
            .map(|m| m.chars().take(300).collect());
        ServiceError {
            status,
            kind,
            code,
            message,
            grant,
        }
    }

    /// The session is over: only a new sign-in helps (an implicit one where a person can
    /// be asked).
    pub fn needs_signin(&self) -> bool {
        matches!(
            self.code,
            Code::TokenExpired | Code::UserCredentialsChanged | Code::AuthcodeExpired
        )
    }

    /// Worth trying again after a pause: the service failed, or asked to slow down.
    pub fn retryable(&self) -> bool {
        self.status >= 500 || self.status == 429 || self.code == Code::ServerError
    }

    /// What a person needs to do next; `profile` is the profile being used.
    pub fn hint(&self, profile: &str) -> String {
        match self.code {
            Code::InsufficientPermissions => format!(
                "the IAM user or role you sign in as needs the AWS managed policy `{POLICY}` \
                 (it allows `signin:AuthorizeOAuth2Access` and `signin:CreateOAuth2Token`); \
                 attach it, then run `vault signin {profile}`"
            ),
            Code::UserCredentialsChanged => {
                format!("sign in again with the new password: `vault signin {profile}`")
            }
            Code::AuthcodeExpired => {
                format!("run `vault signin {profile}` again and finish the sign-in sooner")
            }
            Code::ServerError => {
                format!("try again in a moment; if it goes on, `vault signin {profile}`")
            }
            Code::InvalidRequest if self.status == 429 => "try again in a moment".to_string(),
            Code::InvalidRequest if self.grant == Grant::RefreshToken => format!(
                "sign in again: `vault signin {profile}` (a refresh token is refused when another \
                 program used it first, or when the session was signed in to another region \
                 than the profile's `region`)"
            ),
            _ => format!("sign in again: `vault signin {profile}`"),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code.as_str();
        let what = match self.grant {
            Grant::AuthorizationCode => "the sign-in",
            Grant::RefreshToken => "the sign-in session's refresh",
        };
        match &self.code {
            Code::TokenExpired => write!(f, "the sign-in session has expired (`{code}`)")?,
            Code::UserCredentialsChanged => write!(
                f,
                "the sign-in session ended because the password or credentials of the user changed (`{code}`)"
            )?,
            Code::InsufficientPermissions => write!(
                f,
                "{what} was refused: the principal may not call `signin:CreateOAuth2Token` (`{code}`)"
            )?,
            Code::AuthcodeExpired => write!(
                f,
                "the sign-in code expired before vault could redeem it (`{code}`)"
            )?,
            Code::InvalidRequest => write!(
                f,
                "{what} was refused by the Sign-In service (`{code}`, HTTP {})",
                self.status
            )?,
            Code::ServerError => write!(
                f,
                "{what} failed: the Sign-In service had an error (`{code}`, HTTP {})",
                self.status
            )?,
            Code::Other(_) => write!(
                f,
                "{what} failed: the Sign-In service answered `{code}` (HTTP {})",
                self.status
            )?,
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(status: u16, kind: &str, body: &str) -> ServiceError {
        ServiceError::parse(status, Some(kind), body.as_bytes(), Grant::RefreshToken)
    }

    #[test]
    fn each_code_of_the_model_reads_and_words() {
        let cases = [
            (
                401,
                "AccessDeniedException",
                "TOKEN_EXPIRED",
                Code::TokenExpired,
            ),
            (
                403,
                "AccessDeniedException",
                "USER_CREDENTIALS_CHANGED",
                Code::UserCredentialsChanged,
            ),
            (
                403,
                "AccessDeniedException",
                "INSUFFICIENT_PERMISSIONS",
                Code::InsufficientPermissions,
            ),
            (
                401,
                "AccessDeniedException",
                "AUTHCODE_EXPIRED",
                Code::AuthcodeExpired,
            ),
            (
                400,
                "ValidationException",
                "INVALID_REQUEST",
                Code::InvalidRequest,
            ),
            (
                429,
                "TooManyRequestsError",
                "INVALID_REQUEST",
                Code::InvalidRequest,
            ),
            (
                500,
                "InternalServerException",
                "server_error",
                Code::ServerError,
            ),
        ];
        for (status, kind, code, parsed) in cases {
            let body = format!(r#"{{"error":"{code}","message":"the service's words"}}"#);
            let e = refresh(
                status,
                &format!("{kind}:http://internal.amazon.com/coral/"),
                &body,
            );
            assert_eq!(e.code, parsed);
            assert_eq!(e.kind.as_deref(), Some(kind));
            let text = e.to_string();
            assert!(text.contains(&format!("`{code}`")), "{text}");
            assert!(text.ends_with(": the service's words"), "{text}");
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(
                e.hint("dev").contains("vault signin dev") || e.retryable(),
                "{code}"
            );
        }
    }

    #[test]
    fn insufficient_permissions_names_the_managed_policy() {
        let e = refresh(
            403,
            "AccessDeniedException",
            r#"{"error":"INSUFFICIENT_PERMISSIONS","message":"no"}"#,
        );
        assert!(
            e.hint("gds-users")
                .contains("`SignInLocalDevelopmentAccess`")
        );
        assert!(e.hint("gds-users").contains("vault signin gds-users"));
        assert!(e.to_string().contains("signin:CreateOAuth2Token"));
        assert!(!e.needs_signin());
    }

    #[test]
    fn which_errors_end_the_session_and_which_are_retried() {
        let code = |c: &str, s: u16| refresh(s, "X", &format!(r#"{{"error":"{c}"}}"#));
        assert!(code("TOKEN_EXPIRED", 401).needs_signin());
        assert!(code("USER_CREDENTIALS_CHANGED", 403).needs_signin());
        assert!(!code("INVALID_REQUEST", 400).needs_signin());
        assert!(code("server_error", 500).retryable());
        assert!(code("INVALID_REQUEST", 429).retryable());
        assert!(!code("INVALID_REQUEST", 400).retryable());
        assert!(!code("TOKEN_EXPIRED", 401).retryable());
        assert!(
            code("INVALID_REQUEST", 400)
                .hint("p")
                .contains("another program")
        );
    }

    #[test]
    fn other_shapes_of_answer() {
        // The shape in the body rather than a header; an unknown code; no body at all.
        let e = ServiceError::parse(
            400,
            None,
            br#"{"__type":"com.amazon#ValidationException","error":"invalid_scope"}"#,
            Grant::AuthorizationCode,
        );
        assert_eq!(e.kind.as_deref(), Some("ValidationException"));
        assert_eq!(e.code, Code::Other("invalid_scope".into()));
        assert!(
            e.to_string()
                .starts_with("the sign-in failed: the Sign-In service answered `invalid_scope`")
        );
        let e = ServiceError::parse(502, None, b"<html>bad gateway</html>", Grant::RefreshToken);
        assert_eq!(e.code, Code::ServerError);
        assert!(e.retryable());
        let e = ServiceError::parse(404, None, b"", Grant::RefreshToken);
        assert_eq!(e.code, Code::Other("HTTP 404".into()));
        let long = format!(
            r#"{{"error":"INVALID_REQUEST","message":"{}"}}"#,
            "m".repeat(5000)
        );
        assert!(refresh(400, "V", &long).message.unwrap().len() <= 300);
    }
}
