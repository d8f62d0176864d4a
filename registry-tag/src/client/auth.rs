//! Authentication as the registry asks for it: the `/v2/` ping and its
//! challenge, Basic credentials, Bearer tokens fetched per repository scope
//! and cached for the process, and one fresh token when a cached one is
//! refused.

use std::collections::HashMap;
use std::sync::Mutex;

use common::ci::GithubActions;
use common::{trace, Secret};
use ureq::http::Method;

use super::api_base;
use super::transport::{Reply, Request, Transport};
use crate::challenge::{self, Challenge};
use crate::credentials::{Credential, Credentials, Source};
use crate::reference::Image;
use crate::Error;

/// What a request needs from a repository; a token is fetched for this scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Pull,
    /// Pull and push: one token serves the reads and writes of a move.
    Push,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Pull => "pulling from",
            Access::Push => "pushing to",
        }
    }

    /// The actions of a token scope: `pull` or `pull,push`.
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

/// A registry's challenge, its credential and the tokens fetched for it.
#[derive(Debug)]
struct RegistryState {
    challenge: Challenge,
    credential: Credential,
    /// Bearer tokens by repository, with the access each grants.
    tokens: HashMap<String, (Access, Secret)>,
}

/// Credentials, and what each registry asked for (pinged once per process).
#[derive(Debug)]
pub(super) struct Auth {
    pub credentials: Credentials,
    pub ci: GithubActions,
    pub insecure: bool,
    registries: Mutex<HashMap<String, RegistryState>>,
}

impl Auth {
    pub fn new(credentials: Credentials, insecure: bool) -> Auth {
        Auth {
            credentials,
            ci: GithubActions::default(),
            insecure,
            registries: Mutex::new(HashMap::new()),
        }
    }

    /// Sends `request` to `image`'s repository with the `Authorization` it
    /// needs for `access`. A 401 to a cached Bearer token (it may have
    /// expired) fetches a fresh one once; any other 401 is an
    /// [`Error::Unauthorized`] naming the credential source.
    pub fn send(
        &self,
        transport: &Transport,
        image: &Image,
        access: Access,
        request: Request,
    ) -> Result<Reply, Error> {
        let authorized = |request: &Request| -> Result<Reply, Error> {
            let authorization = self.authorization(transport, image, access)?;
            transport.send(&request.clone().authorization(authorization))
        };
        let reply = authorized(&request)?;
        if reply.status != 401 {
            return Ok(reply);
        }
        // Only a cached token may have expired; one refused for lack of
        // scope will not get better.
        let insufficient = reply
            .headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(challenge::parse)
            .any(|c| {
                c.params
                    .get("error")
                    .is_some_and(|e| e == "insufficient_scope")
            });
        if !self.forget_token(image) || insufficient {
            return Err(self.unauthorized(image, access, &reply));
        }
        trace::step(&format!(
            "token for {} refused (expired?): fetching a fresh one",
            scope(image, access)
        ));
        let reply = authorized(&request)?;
        if reply.status == 401 {
            return Err(self.unauthorized(image, access, &reply));
        }
        Ok(reply)
    }

    /// The `Authorization` value for a request to `image`, pinging the
    /// registry and fetching a token the first time each is needed. A cached
    /// push token also serves pulls.
    pub fn authorization(
        &self,
        transport: &Transport,
        image: &Image,
        access: Access,
    ) -> Result<Option<Secret>, Error> {
        self.ensure_pinged(transport, &image.registry)?;
        let (challenge, credential) = {
            let registries = self.registries.lock().expect("lock");
            let state = registries.get(&image.registry).expect("pinged above");
            if let Some((granted, token)) = state.tokens.get(&image.repository) {
                if *granted >= access {
                    trace::step(&format!("token for {} (cached)", scope(image, *granted)));
                    return Ok(Some(bearer(token)));
                }
            }
            (state.challenge.clone(), state.credential.clone())
        };
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic if credential.source == Source::Anonymous => Ok(None),
            Challenge::Basic => Ok(Some(credential.basic_header())),
            Challenge::Bearer { realm, service } => {
                let token = self.fetch_token(
                    transport,
                    image,
                    &realm,
                    service.as_deref(),
                    &credential,
                    access,
                )?;
                self.ci.mask(&token);
                let header = bearer(&token);
                self.registries
                    .lock()
                    .expect("lock")
                    .get_mut(&image.registry)
                    .expect("pinged above")
                    .tokens
                    .insert(image.repository.clone(), (access, token));
                Ok(Some(header))
            }
        }
    }

    fn unauthorized(&self, image: &Image, access: Access, reply: &Reply) -> Error {
        let credential = self.credential_source(&image.registry);
        let detail = if credential != Source::Anonymous.describe() {
            reply.describe()
        } else if let Some(why) = self.credentials.env_not_used(&image.registry) {
            format!("{}; {why}", reply.describe())
        } else {
            format!(
                "{}; set REGISTRY_USERNAME/REGISTRY_PASSWORD, pass --authfile, or log in with docker or podman",
                reply.describe()
            )
        };
        Error::Unauthorized {
            registry: image.registry.clone(),
            image: image.canonical(),
            action: access.verb(),
            credential,
            detail,
        }
    }

    fn credential_source(&self, registry: &str) -> String {
        self.registries
            .lock()
            .expect("lock")
            .get(registry)
            .map(|s| s.credential.source.describe())
            .unwrap_or_else(|| Source::Anonymous.describe())
    }

    fn forget_token(&self, image: &Image) -> bool {
        let mut registries = self.registries.lock().expect("lock");
        registries
            .get_mut(&image.registry)
            .is_some_and(|s| s.tokens.remove(&image.repository).is_some())
    }

    /// `GET /v2/` once per registry: which challenge it answers with, and
    /// the credential that goes with it.
    fn ensure_pinged(&self, transport: &Transport, registry: &str) -> Result<(), Error> {
        if self.registries.lock().expect("lock").contains_key(registry) {
            return Ok(());
        }
        let credential = self.credentials.for_registry(registry)?;
        self.ci.mask(&credential.password);
        let ping = Request::new(
            Method::GET,
            api_base(registry, self.insecure),
            registry,
            "ping",
        );
        let reply = transport.send(&ping)?;
        let failed = |detail: String| Error::Registry {
            registry: registry.to_string(),
            context: "ping /v2/".into(),
            detail,
        };
        let challenge = match reply.status {
            200..=299 => Challenge::None,
            401 => challenge::from_headers(
                reply
                    .headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
            .ok_or_else(|| failed("401 without a Basic or Bearer challenge".into()))?,
            404 => {
                return Err(failed(
                    "404: this host does not serve the registry API".into(),
                ))
            }
            _ => return Err(failed(reply.describe())),
        };
        trace::step(&format!(
            "ping {registry}: {}",
            match &challenge {
                Challenge::None => "no authentication".to_string(),
                Challenge::Basic => format!("Basic, {}", credential.source.describe()),
                Challenge::Bearer { realm, service } => format!(
                    "Bearer tokens from {realm}{}, {}",
                    service
                        .as_deref()
                        .map(|s| format!(" (service {s})"))
                        .unwrap_or_default(),
                    credential.source.describe()
                ),
            }
        ));
        self.registries.lock().expect("lock").insert(
            registry.to_string(),
            RegistryState {
                challenge,
                credential,
                tokens: HashMap::new(),
            },
        );
        Ok(())
    }

    /// A token for `repository:<image>:<access>` from the challenge's realm,
    /// with the credential as Basic unless anonymous.
    fn fetch_token(
        &self,
        transport: &Transport,
        image: &Image,
        realm: &str,
        service: Option<&str>,
        credential: &Credential,
        access: Access,
    ) -> Result<Secret, Error> {
        let realm_url = common::http::parse_base_url(realm, self.insecure).map_err(|e| {
            if e.contains("--insecure") {
                Error::Insecure {
                    url: realm.to_string(),
                }
            } else {
                Error::Registry {
                    registry: image.registry.clone(),
                    context: "token realm".into(),
                    detail: e,
                }
            }
        })?;
        let scope = scope(image, access);
        trace::step(&format!("token for {scope} from {}", realm_url.url));
        let mut url = format!("{}?scope={}", realm_url.url, query_value(&scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", query_value(service)));
        }
        let context = format!("token for {}", image.name);
        let request = Request::new(Method::GET, url, &realm_url.authority, context.clone())
            .header("Accept", "application/json")
            .authorization(
                (credential.source != Source::Anonymous).then(|| credential.basic_header()),
            )
            .limit(1 << 20);
        let reply = transport.send(&request)?;
        if reply.status == 401 || reply.status == 403 {
            return Err(Error::Unauthorized {
                registry: image.registry.clone(),
                image: image.canonical(),
                action: access.verb(),
                credential: credential.source.describe(),
                detail: format!(
                    "the token service at {} answered {}",
                    realm_url.url,
                    reply.describe()
                ),
            });
        }
        if reply.status != 200 {
            return Err(reply.error(&image.registry, context));
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            token: Option<Secret>,
            access_token: Option<Secret>,
        }
        let invalid = |detail: &str| Error::Registry {
            registry: image.registry.clone(),
            context: context.clone(),
            detail: detail.into(),
        };
        let parsed: TokenReply = serde_json::from_slice(&reply.body)
            .map_err(|_| invalid("the token service did not answer with JSON"))?;
        parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| {
                invalid("the token service answered without \"token\" or \"access_token\"")
            })
    }
}

/// The token scope of `access` to `image`: `repository:org/app:pull,push`.
fn scope(image: &Image, access: Access) -> String {
    format!("repository:{}:{}", image.repository, access.actions())
}

fn bearer(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

/// A query parameter value, percent-encoded (`:` and `/` kept, as token
/// services expect them in scopes).
fn query_value(value: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const QUERY_VALUE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/')
        .remove(b':');
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_encoded_for_the_query() {
        assert_eq!(
            query_value("repository:a/b:pull,push"),
            "repository:a/b:pull%2Cpush"
        );
        assert_eq!(query_value("a b&c=d"), "a%20b%26c%3Dd");
    }

    #[test]
    fn push_access_covers_pull() {
        assert!(Access::Push > Access::Pull);
        assert_eq!(Access::Push.actions(), "pull,push");
    }
}
