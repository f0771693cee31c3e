//! Waiting until the server has processed what a client sent.
//!
//! `Client::flush` only writes the client's buffer to the socket; the server
//! may still be reading it. A subscription is in force for other
//! connections only once the server has processed it, so the link and the
//! hook server confirm with a round trip before they report themselves
//! ready: a request to a subject nobody serves, which the server answers
//! with "no responders" on the same connection (links connect without echo,
//! so a message to themselves would never come back). The server handles
//! one connection's commands in order, so every earlier subscription is in
//! force by then.

use std::time::Duration;

use crate::{Error, Result};

/// How long a round trip may take before the start is reported as failed.
const PATIENCE: Duration = Duration::from_secs(10);

/// Returns once the server has processed everything `client` sent before.
///
/// # Errors
/// The request failing otherwise than with "no responders", or no answer
/// within 10 s.
pub(crate) async fn round_trip(client: &async_nats::Client) -> Result<()> {
    use async_nats::RequestErrorKind;
    let subject = format!("{}.ready", client.new_inbox());
    let request = async_nats::Request::new()
        .payload(bytes::Bytes::new())
        .timeout(Some(PATIENCE));
    match client.send_request(subject, request).await {
        // Nobody serves a fresh inbox; an answer from somebody is a round
        // trip all the same.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::TimedOut => Err(Error::nats(
            "confirm the subscriptions",
            format!("no answer from the server within {} s", PATIENCE.as_secs()),
        )),
        Err(e) => Err(Error::nats("confirm the subscriptions", e)),
    }
}
