//! A sign-in session's credentials for everyone who needs them: the cached token while more
//! than 5 minutes are left, else one refresh under the session's lock (taken, then the token
//! read again: another vault may have refreshed meanwhile), written back to the one place the
//! token lives. A refresh refused with `INVALID_REQUEST` reads the token once more before
//! giving up (another writer, botocore or the AWS CLI, may have rotated it), and refreshes go
//! to the region the session was signed in to. Must not: know SDK types, sign in by itself
//! (the caller decides whether a person can be asked), or let a token reach an error or log.

use std::path::PathBuf;

use super::aws::{self, Failure};
use super::cache;
use super::errors::{Code, ServiceError};
use super::token::{Answer, LoginToken};
use crate::error::{Error, Result};
use crate::store::{self, Store};

/// Where a session's token was found, and so where it is written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Home {
    /// The AWS CLI's file (`aws login` wrote it, or vault with `login_token_cache = shared`).
    Shared(PathBuf),
    /// vault's store, sealed.
    Store,
}

/// The token call, replaceable in tests: `(endpoint, token) -> answer`.
pub type Refresher<'a> =
    &'a dyn Fn(&super::Endpoint, &LoginToken) -> std::result::Result<Answer, Failure>;

/// What the session steps need from the command that runs them.
pub struct Context<'a> {
    pub store: &'a mut dyn Store,
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The home folder (for `~/.aws/login/cache`).
    pub home: PathBuf,
    /// Folder of the lock files.
    pub locks: PathBuf,
    /// The profile being used, for hints.
    pub profile: String,
    /// The profile's region (`region`, `AWS_REGION`, ...): refreshes go there when the token
    /// does not say where it was signed in.
    pub region: Option<String>,
    pub refresher: Refresher<'a>,
}

/// What a caller gets: the token (with its credentials) and where it lives.
#[derive(Debug)]
pub struct Found {
    pub token: LoginToken,
    pub home: Home,
}

/// Why no credentials came: the caller may sign in (where a person can be asked) or stop.
#[derive(Debug)]
pub enum NoSession {
    /// Nothing cached for this session.
    NotSignedIn,
    /// The service says the session is over (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`).
    Ended(ServiceError),
}

/// The default token call: `CreateOAuth2Token` with the refresh grant.
pub fn refresh_call(
    endpoint: &super::Endpoint,
    token: &LoginToken,
) -> std::result::Result<Answer, Failure> {
    aws::create_token(
        endpoint,
        &aws::Request::Refresh {
            client_id: &token.client_id,
            refresh_token: &token.refresh_token,
        },
        &token.dpop_key,
        &store::now,
    )
}

impl Context<'_> {
    fn shared_path(&self, session: &str) -> PathBuf {
        cache::shared_path(self.var, &self.home, session)
    }

    /// The cached token with the most time left, and where it lives; a shared file that
    /// cannot be used is an error (left as it is).
    pub fn cached(&mut self, session: &str) -> Result<Option<Found>> {
        let path = self.shared_path(session);
        let shared = cache::read_shared(&path, &self.profile)?;
        let stored = cache::read_stored(self.store, session)?;
        Ok(match (shared, stored) {
            (Some(s), Some(v)) if v.expires_at > s.expires_at => Some(Found {
                token: v,
                home: Home::Store,
            }),
            (Some(s), _) => Some(Found {
                token: s,
                home: Home::Shared(path),
            }),
            (None, Some(v)) => Some(Found {
                token: v,
                home: Home::Store,
            }),
            (None, None) => None,
        })
    }

    /// Keeps `token` where it lives.
    pub fn save(&mut self, session: &str, home: &Home, token: &LoginToken) -> Result<()> {
        match home {
            Home::Shared(path) => cache::write_shared(path, token),
            Home::Store => cache::write_stored(self.store, session, token),
        }
    }

    /// The region refreshes go to: the session's own, else the profile's.
    fn endpoint(&self, token: &LoginToken) -> Result<super::Endpoint> {
        let region = token
            .sign_in_region
            .clone()
            .or_else(|| self.region.clone())
            .unwrap_or_else(|| "us-east-1".to_string());
        super::endpoint(&region, self.var).map_err(|problem| Error::BadValue {
            name: if (self.var)(super::ENDPOINT_VARIABLE).is_some() {
                super::ENDPOINT_VARIABLE
            } else {
                "region"
            },
            problem,
        })
    }

    /// Credentials of the session with more than 5 minutes left: cached, else refreshed
    /// (one refresh for all callers). `Ok(Err(..))` when only a new sign-in can help.
    pub fn token(&mut self, session: &str) -> Result<std::result::Result<Found, NoSession>> {
        if let Some(found) = self.cached(session)?
            && !found.token.needs_refresh(store::now())
        {
            crate::debug!("sign-in session `{session}`: cached");
            return Ok(Ok(found));
        }
        let _held = cache::lock(&self.locks, session)?;
        // Another vault (or botocore, or the AWS CLI) may have refreshed while this one waited.
        let Some(found) = self.cached(session)? else {
            return Ok(Err(NoSession::NotSignedIn));
        };
        if !found.token.needs_refresh(store::now()) {
            crate::debug!("sign-in session `{session}`: refreshed by another program");
            return Ok(Ok(found));
        }
        match self.refresh(session, found)? {
            Ok(found) => Ok(Ok(found)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// One refresh of `found`, written back to its home. Run under the session's lock.
    fn refresh(
        &mut self,
        session: &str,
        found: Found,
    ) -> Result<std::result::Result<Found, NoSession>> {
        let mut found = found;
        let mut reread = false;
        loop {
            let endpoint = self.endpoint(&found.token)?;
            crate::debug!(
                "sign-in session `{session}`: refreshing at {}",
                endpoint.base
            );
            match (self.refresher)(&endpoint, &found.token) {
                Ok(answer) => {
                    let token = found.token.refreshed(answer, store::now());
                    self.save(session, &found.home, &token)?;
                    return Ok(Ok(Found {
                        token,
                        home: found.home,
                    }));
                }
                Err(Failure::Service(e)) if e.code == Code::InvalidRequest && !reread => {
                    // Another writer may have rotated the refresh token: read it once more.
                    reread = true;
                    use secrecy::ExposeSecret;
                    let before = found.token.refresh_token.expose_secret().to_string();
                    match self.cached(session)? {
                        Some(again) if again.token.refresh_token.expose_secret() != before => {
                            crate::debug!(
                                "the refresh token was refused and another program has rotated it since; using its"
                            );
                            if !again.token.needs_refresh(store::now()) {
                                return Ok(Ok(again));
                            }
                            found = again;
                        }
                        _ => return Err(self.refused(e)),
                    }
                }
                Err(Failure::Service(e)) if e.needs_signin() => {
                    return Ok(Err(NoSession::Ended(e)));
                }
                Err(failure) => {
                    // Still good for a while: serve it and let a later call refresh.
                    if found.token.seconds_left(store::now()) > 60 {
                        crate::text::warn(format_args!(
                            "the sign-in session could not be refreshed ({failure}); using its credentials for the {} seconds they have left",
                            found.token.seconds_left(store::now())
                        ));
                        return Ok(Ok(found));
                    }
                    return Err(match failure {
                        Failure::Service(e) => self.refused(e),
                        other => Error::LoginSession {
                            problem: other.to_string(),
                            hint: format!(
                                "check the network (and {} if set), then try again",
                                super::ENDPOINT_VARIABLE
                            ),
                        },
                    });
                }
            }
        }
    }

    /// The error for a refusal that a new sign-in may or may not cure.
    pub fn refused(&self, e: ServiceError) -> Error {
        Error::LoginSession {
            hint: e.hint(&self.profile),
            problem: e.to_string(),
        }
    }

    /// The error when a session is needed and no person can be asked to sign in.
    pub fn not_signed_in(&self, session: &str, why: &NoSession) -> Error {
        let problem = match why {
            NoSession::NotSignedIn => {
                format!(
                    "profile `{}` is not signed in (`login_session = {session}`)",
                    self.profile
                )
            }
            NoSession::Ended(e) => format!("profile `{}`: {e}", self.profile),
        };
        Error::LoginSession {
            problem,
            hint: format!("run `vault signin {}`", self.profile),
        }
    }

    /// A new sign-in for `session` (an implicit one: the profile's session is over or was
    /// never made, and a person can be asked), under the session's lock so that one sign-in
    /// and one browser tab serve every waiting vault: those that waited find its token.
    /// Saved where the old token lived (the AWS CLI's file stays the home of a session
    /// `aws login` made), else in the AWS CLI's file when `shared`, else in vault's store.
    pub fn sign_in_now(
        &mut self,
        session: &str,
        options: &super::login::Options,
        shared: bool,
        ask: &mut dyn FnMut(&str) -> Result<zeroize::Zeroizing<String>>,
    ) -> Result<Found> {
        let _held = cache::lock(&self.locks, session)?;
        let old = match self.cached(session) {
            Ok(Some(found)) if !found.token.needs_refresh(store::now()) => {
                crate::debug!("sign-in session `{session}`: signed in by another vault");
                return Ok(found);
            }
            Ok(found) => found.map(|f| f.home),
            // A file that cannot be read is left as it is: the new token goes to the store.
            Err(e) => {
                crate::debug!("{e}");
                None
            }
        };
        let region = self
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_string());
        let endpoint = super::endpoint(&region, self.var).map_err(|problem| Error::BadValue {
            name: super::ENDPOINT_VARIABLE,
            problem,
        })?;
        let (signed_in, token) =
            super::login::sign_in(&endpoint, &region, options, &self.profile, self.var, ask)?;
        if signed_in.trim() != session.trim() {
            return Err(Error::LoginSession {
                problem: format!(
                    "the sign-in was for `{signed_in}`, but profile `{}` names `login_session = {session}`; nothing was kept",
                    self.profile
                ),
                hint: format!(
                    "sign in as that user or role, or run `vault signin {}` to switch the profile to the new session",
                    self.profile
                ),
            });
        }
        let home = match old {
            Some(Home::Shared(path)) => Home::Shared(path),
            _ if shared => Home::Shared(self.shared_path(session)),
            _ => Home::Store,
        };
        self.save(session, &home, &token)?;
        Ok(Found { token, home })
    }

    /// `vault signout`: the token removed wherever it lives; whether there was one.
    pub fn remove(&mut self, session: &str) -> Result<bool> {
        let _held = cache::lock(&self.locks, session)?;
        let shared = cache::remove_shared(&self.shared_path(session))?;
        let stored = cache::remove_stored(self.store, session)?;
        Ok(shared || stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::dpop::Key;
    use crate::signin::errors::Grant;
    use crate::store::{Credentials, EntryId};
    use secrecy::{ExposeSecret, SecretString};
    use std::cell::RefCell;

    #[derive(Default)]
    struct Memory(Vec<(EntryId, Credentials)>);

    impl Store for Memory {
        fn describe(&self) -> String {
            "memory".to_string()
        }
        fn list(&self) -> Result<store::Listing> {
            Ok(store::Listing {
                entries: Vec::new(),
                problems: Vec::new(),
            })
        }
        fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
            Ok(self.0.iter().find(|(i, _)| i == id).map(|(_, c)| c.clone()))
        }
        fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
            self.remove(id)?;
            self.0.push((id.clone(), credentials.clone()));
            Ok(())
        }
        fn remove(&mut self, id: &EntryId) -> Result<bool> {
            let before = self.0.len();
            self.0.retain(|(i, _)| i != id);
            Ok(self.0.len() < before)
        }
    }

    const SESSION: &str = "arn:aws:iam::123456789012:user/jane";

    fn token(left: i64, refresh: &str) -> LoginToken {
        let key = Key::generate();
        let json = serde_json::json!({
            "accessToken": {"accessKeyId": "ASIAOLD", "secretAccessKey": "S", "sessionToken": "T",
                            "accountId": "123456789012",
                            "expiresAt": crate::signin::token::format_time((store::now() as i64 + left) as u64)},
            "clientId": crate::signin::SAME_DEVICE, "refreshToken": refresh,
            "dpopKey": key.to_sec1_pem().as_str(),
        });
        crate::signin::token::parse(json.to_string().as_bytes()).unwrap()
    }

    fn answer(n: usize) -> Answer {
        Answer {
            access_key_id: format!("ASIANEW{n}"),
            secret_access_key: SecretString::from("S2"),
            session_token: SecretString::from("T2"),
            expires_in: 900,
            refresh_token: SecretString::from(format!("R{n}")),
            id_token: None,
            token_type: None,
        }
    }

    struct Setup {
        dir: tempfile::TempDir,
        store: Memory,
    }

    impl Setup {
        fn new() -> Setup {
            let dir = tempfile::tempdir().unwrap();
            Setup {
                dir,
                store: Memory::default(),
            }
        }

        fn path(&self) -> PathBuf {
            cache::shared_path(&|_| None, self.dir.path(), SESSION)
        }

        fn run<T>(&mut self, refresher: Refresher<'_>, f: impl FnOnce(&mut Context) -> T) -> T {
            let var = |_: &str| None;
            let mut context = Context {
                store: &mut self.store,
                var: &var,
                home: self.dir.path().to_path_buf(),
                locks: self.dir.path().join("locks"),
                profile: "dev".to_string(),
                region: Some("eu-west-1".to_string()),
                refresher,
            };
            f(&mut context)
        }
    }

    #[test]
    fn a_fresh_token_is_served_without_a_call() {
        let mut s = Setup::new();
        cache::write_shared(&s.path(), &token(600, "R0")).unwrap();
        let never = |_: &super::super::Endpoint,
                     _: &LoginToken|
         -> std::result::Result<Answer, Failure> { panic!("no call") };
        let found = s.run(&never, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.home, Home::Shared(s.path()));
        assert_eq!(found.token.access_key_id, "ASIAOLD");
    }

    #[test]
    fn a_token_with_five_minutes_left_is_refreshed_in_its_home_in_the_sessions_region() {
        let mut s = Setup::new();
        let mut t = token(240, "R0");
        t.sign_in_region = Some("ap-south-1".into());
        cache::write_shared(&s.path(), &t).unwrap();
        let seen = RefCell::new(Vec::new());
        let refresher = |e: &super::super::Endpoint, t: &LoginToken| {
            seen.borrow_mut()
                .push((e.base.clone(), t.refresh_token.expose_secret().to_string()));
            Ok(answer(1))
        };
        let found = s.run(&refresher, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.token.access_key_id, "ASIANEW1");
        assert_eq!(
            *seen.borrow(),
            vec![(
                "https://ap-south-1.signin.aws.amazon.com".to_string(),
                "R0".to_string()
            )]
        );
        let written = cache::read_shared(&s.path(), "dev").unwrap().unwrap();
        assert_eq!(written.refresh_token.expose_secret(), "R1");
        assert_eq!(written.dpop_key, t.dpop_key);
        assert!(
            cache::read_stored(&mut s.store, SESSION).unwrap().is_none(),
            "one home only"
        );
        // Without a region of its own, the profile's.
        let t = token(10, "R5");
        cache::write_stored(&mut s.store, SESSION, &t).unwrap();
        std::fs::remove_file(s.path()).unwrap();
        seen.borrow_mut().clear();
        let found = s.run(&refresher, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.home, Home::Store);
        assert_eq!(
            seen.borrow()[0].0,
            "https://eu-west-1.signin.aws.amazon.com"
        );
        let stored = cache::read_stored(&mut s.store, SESSION).unwrap().unwrap();
        assert_eq!(stored.refresh_token.expose_secret(), "R1");
    }

    fn refused(code: &str, status: u16) -> Failure {
        Failure::Service(ServiceError::parse(
            status,
            None,
            format!(r#"{{"error":"{code}","message":"m"}}"#).as_bytes(),
            Grant::RefreshToken,
        ))
    }

    #[test]
    fn invalid_request_reads_the_token_again_once() {
        let mut s = Setup::new();
        cache::write_shared(&s.path(), &token(100, "R0")).unwrap();
        let path = s.path();
        let calls = RefCell::new(0);
        // botocore rotated the token just before vault's call: refused, and the file has a
        // new token that is fresh.
        let refresher = |_: &super::super::Endpoint, _: &LoginToken| {
            *calls.borrow_mut() += 1;
            cache::write_shared(&path, &token(800, "R-other")).unwrap();
            Err(refused("INVALID_REQUEST", 400))
        };
        let found = s.run(&refresher, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.token.refresh_token.expose_secret(), "R-other");
        assert_eq!(*calls.borrow(), 1);
        // Refused and nothing new on disk: an error with the hint, the file unchanged.
        let before = std::fs::read(&path).unwrap();
        let refresher = |_: &super::super::Endpoint, _: &LoginToken| {
            *calls.borrow_mut() += 1;
            Err(refused("INVALID_REQUEST", 400))
        };
        cache::write_shared(&path, &token(30, "R7")).unwrap();
        let before_refused = std::fs::read(&path).unwrap();
        assert_ne!(before, before_refused);
        *calls.borrow_mut() = 0;
        let e = s.run(&refresher, |c| c.token(SESSION)).unwrap_err();
        assert_eq!(*calls.borrow(), 1, "no second call with the same token");
        assert!(e.to_string().contains("`INVALID_REQUEST`"), "{e}");
        assert!(e.hint().unwrap().contains("vault signin dev"));
        assert_eq!(std::fs::read(&path).unwrap(), before_refused);
    }

    #[test]
    fn an_ended_session_asks_for_a_sign_in_and_other_failures_serve_what_is_left() {
        let mut s = Setup::new();
        cache::write_shared(&s.path(), &token(100, "R0")).unwrap();
        let expired =
            |_: &super::super::Endpoint, _: &LoginToken| Err(refused("TOKEN_EXPIRED", 401));
        let why = s.run(&expired, |c| c.token(SESSION)).unwrap().unwrap_err();
        assert!(matches!(why, NoSession::Ended(ref e) if e.code == Code::TokenExpired));
        let e = s.run(&expired, |c| c.not_signed_in(SESSION, &why));
        assert!(
            e.to_string().contains("the sign-in session has expired"),
            "{e}"
        );
        assert_eq!(e.hint().unwrap(), "run `vault signin dev`");
        // A failing service with 100 s left: the credentials are served.
        let failing =
            |_: &super::super::Endpoint, _: &LoginToken| Err(refused("server_error", 500));
        let found = s.run(&failing, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.token.access_key_id, "ASIAOLD");
        // ... but not with 30 s left.
        cache::write_shared(&s.path(), &token(30, "R0")).unwrap();
        let e = s.run(&failing, |c| c.token(SESSION)).unwrap_err();
        assert!(e.to_string().contains("`server_error`"), "{e}");
        // Permissions: the managed policy is named.
        let denied = |_: &super::super::Endpoint, _: &LoginToken| {
            Err(refused("INSUFFICIENT_PERMISSIONS", 403))
        };
        let e = s.run(&denied, |c| c.token(SESSION)).unwrap_err();
        assert!(e.hint().unwrap().contains("SignInLocalDevelopmentAccess"));
    }

    #[test]
    fn nothing_cached_is_not_signed_in_and_signout_removes_both_homes() {
        let mut s = Setup::new();
        let never = |_: &super::super::Endpoint,
                     _: &LoginToken|
         -> std::result::Result<Answer, Failure> { panic!("no call") };
        assert!(matches!(
            s.run(&never, |c| c.token(SESSION)).unwrap(),
            Err(NoSession::NotSignedIn)
        ));
        cache::write_shared(&s.path(), &token(600, "R0")).unwrap();
        cache::write_stored(&mut s.store, SESSION, &token(700, "R1")).unwrap();
        // The one with more time left wins.
        let found = s.run(&never, |c| c.token(SESSION)).unwrap().unwrap();
        assert_eq!(found.home, Home::Store);
        assert!(s.run(&never, |c| c.remove(SESSION)).unwrap());
        assert!(!s.path().exists());
        assert!(cache::read_stored(&mut s.store, SESSION).unwrap().is_none());
        assert!(!s.run(&never, |c| c.remove(SESSION)).unwrap());
    }

    #[test]
    fn bad_cache_files_name_the_file_and_are_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mut s = Setup::new();
        let never = |_: &super::super::Endpoint,
                     _: &LoginToken|
         -> std::result::Result<Answer, Failure> { panic!("no call") };
        let path = s.path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::set_permissions(
            path.parent().unwrap(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let good = crate::signin::token::to_json(&token(600, "R0"));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() / 2].to_vec(), "truncated"),
            (b"{nope".to_vec(), "not JSON"),
            (
                String::from_utf8(good.to_vec())
                    .unwrap()
                    .replace("dpopKey", "other")
                    .into_bytes(),
                "no `dpopKey`",
            ),
            (vec![b' '; 70 * 1024], "larger than"),
        ];
        for (bytes, expect) in cases {
            std::fs::write(&path, &bytes).unwrap();
            let e = s.run(&never, |c| c.token(SESSION)).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains(expect) && text.contains(&token_name()),
                "{text}"
            );
            assert!(e.hint().unwrap().contains("vault signin dev"));
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was");
        }
        std::fs::remove_file(&path).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
        let e = s.run(&never, |c| c.token(SESSION)).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        let e = s.run(&never, |c| c.token(SESSION)).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::set_permissions(
            path.parent().unwrap(),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let e = s.run(&never, |c| c.token(SESSION)).unwrap_err();
        assert!(e.to_string().contains("not safe to use"), "{e}");
    }

    fn token_name() -> String {
        crate::signin::token::file_name(SESSION)
    }
}
