//! What the HTTP tools share: methods, credentials, query parameters,
//! request bodies, and sending a request through the network layer.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llmspell_core::{Error, Result};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::net::{SafeClient, SafeResponse, SecretEnv};

/// An HTTP method.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Method {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
            Method::Options => reqwest::Method::OPTIONS,
        }
    }
}

/// Where an API key goes.
#[derive(Deserialize, JsonSchema, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeyLocation {
    #[default]
    Header,
    Query,
}

/// Credentials sent with a request, selected by `type`. A secret is given
/// either as a value or, better, as the name of an environment variable
/// allowed by `secret_env` (`token_env`, `password_env`, `value_env`), so
/// it never appears in the parameters.
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Option<String>,
        /// The environment variable holding the token.
        token_env: Option<String>,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Option<String>,
        /// The environment variable holding the password.
        password_env: Option<String>,
    },
    /// An API key in a header or a query parameter.
    ApiKey {
        /// The header or query parameter name (default `X-Api-Key` in a
        /// header, `api_key` in the query).
        name: Option<String>,
        /// The key.
        value: Option<String>,
        /// The environment variable holding the key.
        value_env: Option<String>,
        /// `header` (the default) or `query`.
        #[serde(rename = "in", default)]
        location: KeyLocation,
    },
}

/// A query parameter value: text, a number, a boolean, or a list of them
/// (the parameter repeated).
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(untagged)]
pub(crate) enum QueryValue {
    /// One value.
    One(Scalar),
    /// The parameter repeated once per value.
    Many(Vec<Scalar>),
}

/// A scalar query value.
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(untagged)]
pub(crate) enum Scalar {
    /// Text.
    Text(String),
    /// A number, written as JSON writes it.
    Number(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, Default)]
pub(crate) enum Body {
    #[default]
    None,
    Json(Value),
    Form(BTreeMap<String, String>),
    Text {
        text: String,
        content_type: Option<String>,
    },
}

impl Body {
    /// The one body of `json`, `form` and `body` a call gave (`prefix` is
    /// prepended to field names in errors).
    pub(crate) fn from_fields(
        json: Option<Value>,
        form: Option<BTreeMap<String, String>>,
        text: Option<String>,
        content_type: Option<String>,
        prefix: &str,
    ) -> Result<Self> {
        let given = [json.is_some(), form.is_some(), text.is_some()]
            .iter()
            .filter(|g| **g)
            .count();
        if given > 1 {
            return Err(Error::invalid_input(
                format!("{prefix}body"),
                "give at most one of `json`, `form` and `body`",
            ));
        }
        if content_type.is_some() && text.is_none() {
            return Err(Error::invalid_input(
                format!("{prefix}content_type"),
                "`content_type` applies only to a text `body`",
            ));
        }
        Ok(match (json, form, text) {
            (Some(v), _, _) => Body::Json(v),
            (_, Some(f), _) => Body::Form(f),
            (_, _, Some(text)) => Body::Text { text, content_type },
            _ => Body::None,
        })
    }
}

/// A request as the tools describe it, before it is checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) query: Option<BTreeMap<String, QueryValue>>,
    pub(crate) body: Body,
    pub(crate) auth: Option<Auth>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) max_redirects: Option<u64>,
}

/// An [`Outgoing`] request after its checks: ready to send.
#[derive(Debug)]
pub(crate) struct Checked {
    request: reqwest::RequestBuilder,
    pub(crate) timeout: std::time::Duration,
}

impl Checked {
    /// Sends it.
    pub(crate) async fn send(self, client: &SafeClient) -> Result<SafeResponse> {
        client.send(self.request, self.timeout).await
    }
}

impl Outgoing {
    /// Checks everything (URL and host through the network policy, the
    /// limits asked for, headers, credentials) and builds the request.
    /// Field names in errors start with `prefix` (`""`, `"request."`).
    pub(crate) fn check(
        self,
        client: &SafeClient,
        secrets: &SecretEnv,
        prefix: &str,
    ) -> Result<Checked> {
        let field = |name: &str| format!("{prefix}{name}");
        let mut url = client.check_url(&self.url, &field("url"))?;
        let timeout = client.timeout(self.timeout_ms, &field("timeout_ms"))?;
        let mut redirects = client.redirects(self.max_redirects, &field("max_redirects"))?;
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers.iter().flatten() {
            let key = format!("{prefix}headers.{name}");
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_input(&key, "not a valid header name (letters, digits, `-`)")
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_input(&key, "not a valid header value (no line breaks)")
            })?;
            headers.append(name, value);
        }
        if let Some(query) = &self.query {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                match value {
                    QueryValue::One(v) => {
                        pairs.append_pair(name, &v.text());
                    }
                    QueryValue::Many(vs) => {
                        for v in vs {
                            pairs.append_pair(name, &v.text());
                        }
                    }
                }
            }
        }
        if let Some(auth) = &self.auth {
            let custom_header = apply_auth(auth, &mut url, &mut headers, secrets, prefix)?;
            // A key in a header reqwest does not know to drop must not follow
            // a redirect to another origin.
            redirects.same_origin_only |= custom_header;
        }
        let mut request = client
            .request(self.method.to_reqwest(), url, redirects)?
            .headers(headers);
        request = match self.body {
            Body::None => request,
            Body::Json(v) => request.json(&v),
            Body::Form(f) => {
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f.iter())
                    .finish();
                request
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(encoded)
            }
            Body::Text { text, content_type } => {
                let ct = content_type.unwrap_or_else(|| "text/plain; charset=utf-8".to_owned());
                let ct = HeaderValue::from_str(&ct).map_err(|_| {
                    Error::invalid_input(field("content_type"), "not a valid header value")
                })?;
                request.header(CONTENT_TYPE, ct).body(text)
            }
        };
        Ok(Checked { request, timeout })
    }
}

/// Adds the credentials of `auth`; whether they went into a header other
/// than `Authorization`.
fn apply_auth(
    auth: &Auth,
    url: &mut url::Url,
    headers: &mut HeaderMap,
    secrets: &SecretEnv,
    prefix: &str,
) -> Result<bool> {
    let field = |name: &str| format!("{prefix}auth.{name}");
    let secret = |value: &Option<String>, env: &Option<String>, name: &str| -> Result<String> {
        let env_field = field(&format!("{name}_env"));
        match (value, env) {
            (Some(_), Some(_)) => Err(Error::invalid_input(
                field(name),
                format!("give `{name}` or `{name}_env`, not both"),
            )),
            (Some(v), None) => Ok(v.clone()),
            (None, Some(var)) => secrets.read(var, &env_field),
            (None, None) => Err(Error::invalid_input(
                field(name),
                format!("missing: give `{name}` or `{name}_env`"),
            )),
        }
    };
    let sensitive = |v: String, name: &str| -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(&v)
            .map_err(|_| Error::invalid_input(field(name), "not a valid header value"))?;
        v.set_sensitive(true);
        Ok(v)
    };
    match auth {
        Auth::Bearer { token, token_env } => {
            let token = secret(token, token_env, "token")?;
            headers.insert(
                AUTHORIZATION,
                sensitive(format!("Bearer {token}"), "token")?,
            );
            Ok(false)
        }
        Auth::Basic {
            username,
            password,
            password_env,
        } => {
            let password = secret(password, password_env, "password")?;
            let encoded = STANDARD.encode(format!("{username}:{password}"));
            headers.insert(
                AUTHORIZATION,
                sensitive(format!("Basic {encoded}"), "password")?,
            );
            Ok(false)
        }
        Auth::ApiKey {
            name,
            value,
            value_env,
            location,
        } => {
            let key = secret(value, value_env, "value")?;
            match location {
                KeyLocation::Header => {
                    let name = name.as_deref().unwrap_or("X-Api-Key");
                    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        Error::invalid_input(field("name"), "not a valid header name")
                    })?;
                    let custom = header != AUTHORIZATION;
                    headers.insert(header, sensitive(key, "value")?);
                    Ok(custom)
                }
                KeyLocation::Query => {
                    let name = name.as_deref().unwrap_or("api_key");
                    url.query_pairs_mut().append_pair(name, &key);
                    Ok(false)
                }
            }
        }
    }
}

/// How a response body is returned.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResponseType {
    /// JSON when the `Content-Type` says so and it parses, else text when
    /// it decodes, else base64.
    #[default]
    Auto,
    /// JSON; an error when it does not parse.
    Json,
    /// Text (invalid sequences replaced).
    Text,
    /// Base64 of the bytes.
    Base64,
}

/// A decoded body: the value, its kind (`json`, `text`, `base64`,
/// `empty`) and, in `auto` mode, why a JSON `Content-Type` did not parse.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) value: Value,
    pub(crate) kind: &'static str,
    pub(crate) json_error: Option<String>,
}

/// Whether a media type is JSON (`application/json`, `*/*+json`).
pub(crate) fn is_json_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"))
}

/// Decodes `bytes` as `mode` says; `content_type` is the full header.
pub(crate) fn decode_body(
    bytes: &[u8],
    content_type: Option<&str>,
    mode: ResponseType,
) -> Result<Decoded> {
    let media = content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let decoded = |value, kind| Decoded {
        value,
        kind,
        json_error: None,
    };
    match mode {
        ResponseType::Base64 => Ok(decoded(Value::String(STANDARD.encode(bytes)), "base64")),
        ResponseType::Text => Ok(decoded(
            Value::String(text_of(bytes, content_type).0),
            "text",
        )),
        ResponseType::Json => serde_json::from_slice(bytes)
            .map(|v| decoded(v, "json"))
            .map_err(|e| Error::External {
                service: "http".to_owned(),
                message: format!("the response body is not valid JSON: {e}"),
                retryable: false,
                source: None,
            }),
        ResponseType::Auto => {
            if bytes.is_empty() {
                return Ok(decoded(Value::Null, "empty"));
            }
            let mut json_error = None;
            if is_json_type(media.as_deref()) {
                match serde_json::from_slice(bytes) {
                    Ok(v) => return Ok(decoded(v, "json")),
                    Err(e) => json_error = Some(e.to_string()),
                }
            }
            let (text, clean) = text_of(bytes, content_type);
            Ok(if clean {
                Decoded {
                    value: Value::String(text),
                    kind: "text",
                    json_error,
                }
            } else {
                Decoded {
                    value: Value::String(STANDARD.encode(bytes)),
                    kind: "base64",
                    json_error,
                }
            })
        }
    }
}

/// `bytes` as text in the charset of `content_type` (default UTF-8), and
/// whether it decoded without replacements.
pub(crate) fn text_of(bytes: &[u8], content_type: Option<&str>) -> (String, bool) {
    let encoding = content_type
        .and_then(|ct| {
            ct.split(';').skip(1).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("charset")
                    .then(|| v.trim().trim_matches('"').to_owned())
            })
        })
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, had_errors) = encoding.decode(bytes);
    (text.into_owned(), !had_errors)
}

/// Milliseconds with two decimals.
pub(crate) fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auto_decoding_follows_the_content_type() {
        let d = decode_body(br#"{"a":1}"#, Some("application/json"), ResponseType::Auto).unwrap();
        assert_eq!((d.value, d.kind), (json!({"a": 1}), "json"));
        let d = decode_body(
            b"{bad",
            Some("application/problem+json"),
            ResponseType::Auto,
        )
        .unwrap();
        assert_eq!(d.kind, "text");
        assert!(d.json_error.is_some());
        let d = decode_body(&[0xff, 0xfe, 0x00], None, ResponseType::Auto).unwrap();
        assert_eq!((d.value, d.kind), (json!("//4A"), "base64"));
        let d = decode_body(
            b"caf\xe9",
            Some("text/plain; charset=ISO-8859-1"),
            ResponseType::Auto,
        )
        .unwrap();
        assert_eq!(d.value, json!("café"));
        let err = decode_body(b"<html>", Some("application/json"), ResponseType::Json).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn only_one_body_is_allowed() {
        let err = Body::from_fields(Some(json!(1)), None, Some("x".into()), None, "request.")
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "request.body"));
        let err = Body::from_fields(None, None, None, Some("text/csv".into()), "").unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "content_type"));
    }
}
