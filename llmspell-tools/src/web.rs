//! Tools that talk HTTP (category `web`, security level `restricted`):
//! `http_request`, `graphql_query`, `url_analyzer`, `api_tester` and
//! `webhook_caller`.
//!
//! Every request goes through the network safety layer ([`crate::net`]):
//! the host must be on `allowed_hosts`, every address connected to (each
//! redirect hop included) must be public or allowed by `allowed_addresses`,
//! and timeouts, a redirect limit and a response size cap apply.
//! Credentials are taken from environment variables on `secret_env`, named
//! by the call (`token_env`, `password_env`, `value_env`, `secret_env`).

mod api_tester;
mod assertions;
mod graphql_query;
mod http_request;
mod introspection;
mod request;
mod url_analyzer;
mod url_parts;
mod webhook_caller;

pub use api_tester::ApiTester;
pub use graphql_query::GraphqlQuery;
pub use http_request::HttpRequest;
pub use url_analyzer::UrlAnalyzer;
pub use webhook_caller::{
    ATTEMPT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookCaller,
    webhook_signature,
};
