//! Server-sent events framing, as both providers stream their answers.
//!
//! The decoder follows the `text/event-stream` format: lines end with `\n`
//! (an optional `\r` before it is dropped), `field: value` lines build an
//! event, a blank line dispatches it, `:` lines are comments. Only the
//! `event` and `data` fields matter to the providers; `id` and `retry` are
//! ignored. Bytes may arrive split anywhere, including inside a UTF-8
//! character.

use std::collections::VecDeque;

/// The longest line the decoder buffers before it gives up, so a server
/// that never sends a newline cannot make the client grow without bound.
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SseEvent {
    /// The `event:` field, empty when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental decoder: push bytes in, take events out.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
    ready: VecDeque<SseEvent>,
}

/// A line longer than [`MAX_LINE_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTooLong;

impl SseDecoder {
    /// Feeds received bytes; complete events become available from
    /// [`next_event`](Self::next_event).
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), LineTooLong> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let line = self.buf[start..end]
                .strip_suffix(b"\r")
                .unwrap_or(&self.buf[start..end]);
            let line = String::from_utf8_lossy(line).into_owned();
            self.line(&line);
            start = end + 1;
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(LineTooLong);
        }
        Ok(())
    }

    /// Called when the body ended: an unterminated last line and an event
    /// not followed by a blank line are still dispatched, since some servers
    /// close the connection right after their last `data:` line.
    pub(crate) fn finish(&mut self) {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(rest.strip_suffix(b"\r").unwrap_or(&rest));
            self.line(&line);
        }
        self.dispatch();
    }

    /// The next complete event, oldest first.
    pub(crate) fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() && self.event.is_empty() {
            return;
        }
        self.ready.push_back(SseEvent {
            event: std::mem::take(&mut self.event),
            data: std::mem::take(&mut self.data).join("\n"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(parts: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for p in parts {
            d.push(p).unwrap();
            while let Some(e) = d.next_event() {
                out.push(e);
            }
        }
        d.finish();
        while let Some(e) = d.next_event() {
            out.push(e);
        }
        out
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn events_split_across_reads_and_crlf() {
        let events = decode_all(&[
            b"event: a\r\nda",
            b"ta: {\"x\":1}\r\n\r\n: comment\n\ndata:no-space\n",
            b"\n",
        ]);
        assert_eq!(events, vec![ev("a", "{\"x\":1}"), ev("", "no-space")]);
    }

    #[test]
    fn multi_line_data_is_joined_and_unknown_fields_ignored() {
        let events = decode_all(&[b"id: 7\nretry: 10\ndata: one\ndata: two\n\n"]);
        assert_eq!(events, vec![ev("", "one\ntwo")]);
    }

    #[test]
    fn utf8_split_inside_a_character_survives() {
        let text = "data: h\u{e9}llo\n\n".as_bytes();
        let cut = text.iter().position(|&b| b == 0xc3).unwrap() + 1;
        let events = decode_all(&[&text[..cut], &text[cut..]]);
        assert_eq!(events, vec![ev("", "h\u{e9}llo")]);
    }

    #[test]
    fn trailing_event_without_blank_line_is_dispatched_at_end() {
        let events = decode_all(&[b"data: [DONE]"]);
        assert_eq!(events, vec![ev("", "[DONE]")]);
    }

    #[test]
    fn endless_line_is_refused() {
        let mut d = SseDecoder::default();
        let big = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(d.push(&big), Err(LineTooLong));
    }
}
