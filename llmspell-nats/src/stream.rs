//! The JetStream stream that keeps bridged events.

use async_nats::jetstream::{self, stream};

use crate::config::StreamConfig;
use crate::subject::minimal_subjects;
use crate::{Error, Result};

/// Creates the stream, or updates it so that it also covers `subjects`
/// (the subjects other hosts added are kept) with the limits of `config`.
/// Returns the stream's name.
///
/// # Errors
/// [`Error::JetStream`] when JetStream is not enabled on the server, or the
/// server refuses the stream (subjects another stream already holds).
pub(crate) async fn ensure(
    js: &jetstream::Context,
    prefix: &str,
    config: &StreamConfig,
    subjects: Vec<String>,
) -> Result<String> {
    let name = config.name_for(prefix);
    let existing = match js.get_stream(&name).await {
        Ok(mut s) => Some(
            s.info()
                .await
                .map_err(|e| Error::jetstream(format!("read stream {name}"), e))?
                .config
                .subjects
                .clone(),
        ),
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(ref js_err)
                    if js_err.kind() == jetstream::ErrorCode::STREAM_NOT_FOUND
            ) =>
        {
            None
        }
        Err(e) => {
            return Err(Error::jetstream(
                format!("read stream {name}"),
                format!("{e} (is JetStream enabled on the server? nats-server -js)"),
            ));
        }
    };
    let subjects = minimal_subjects(
        existing
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(subjects),
    );
    let to_i64 = |n: Option<u64>| n.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let wanted = stream::Config {
        name: name.clone(),
        subjects,
        max_age: config.max_age.unwrap_or_default(),
        max_bytes: to_i64(config.max_bytes),
        max_messages: to_i64(config.max_events),
        duplicate_window: config.duplicate_window,
        storage: if config.memory {
            stream::StorageType::Memory
        } else {
            stream::StorageType::File
        },
        discard: stream::DiscardPolicy::Old,
        description: Some(format!("llmspell events under {prefix}.")),
        ..Default::default()
    };
    let outcome = match existing {
        None => js
            .create_stream(wanted)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(_) => js
            .update_stream(wanted)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    outcome.map_err(|e| Error::jetstream(format!("create or update stream {name}"), e))?;
    Ok(name)
}
