//! Engine.IO v4 packets: one type digit and data, and the long-polling payload that joins
//! packets with the record separator `\x1e` (binary packets as `b` + base64).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;

/// The separator between packets of a long-polling payload.
pub const SEPARATOR: char = '\x1e';

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` + the handshake JSON (server to client only).
    Open(ByteString),
    /// `1`: the sender closes the session.
    Close,
    /// `2` (+ `probe` during an upgrade).
    Ping(ByteString),
    /// `3` (+ `probe` during an upgrade).
    Pong(ByteString),
    /// `4` + a text message.
    Message(ByteString),
    /// A binary message (a binary frame, or `b` + base64 in a polling payload).
    Binary(Bytes),
    /// `5`: the client completes an upgrade.
    Upgrade,
    /// `6`: nothing (ends a pending poll during an upgrade).
    Noop,
}

/// Why a packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty frame or record.
    #[error("empty packet")]
    Empty,
    /// A packet type digit that Engine.IO v4 does not have.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b` record whose base64 does not decode.
    #[error("invalid base64 in a binary packet")]
    Base64,
}

impl Packet {
    /// Decodes a text frame (WebSocket) or one record of a polling payload.
    pub fn decode(text: &str) -> Result<Packet, DecodeError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(DecodeError::Empty)?;
        let rest = || ByteString::from(&text[1..]);
        Ok(match kind {
            '0' => Packet::Open(rest()),
            '1' => Packet::Close,
            '2' => Packet::Ping(rest()),
            '3' => Packet::Pong(rest()),
            '4' => Packet::Message(rest()),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            'b' => Packet::Binary(
                STANDARD
                    .decode(&text[1..])
                    .map_err(|_| DecodeError::Base64)?
                    .into(),
            ),
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// The text form of a non-binary packet (`None` for `Binary`).
    pub fn encode_text(&self) -> Option<ByteString> {
        let (digit, data): (&str, &str) = match self {
            Packet::Open(data) => ("0", data),
            Packet::Close => ("1", ""),
            Packet::Ping(data) => ("2", data),
            Packet::Pong(data) => ("3", data),
            Packet::Message(data) => ("4", data),
            Packet::Upgrade => ("5", ""),
            Packet::Noop => ("6", ""),
            Packet::Binary(_) => return None,
        };
        let mut out = String::with_capacity(1 + data.len());
        out.push_str(digit);
        out.push_str(data);
        Some(out.into())
    }
}

/// Splits a polling payload into packets.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, DecodeError> {
    body.split(SEPARATOR).map(Packet::decode).collect()
}

/// Appends `frame` (already in its text or binary form) to a polling payload under construction.
pub fn push_payload(payload: &mut String, frame: &Frame) {
    if !payload.is_empty() {
        payload.push(SEPARATOR);
    }
    match frame {
        Frame::Text(text) => payload.push_str(text),
        Frame::Binary(data) => {
            payload.push('b');
            STANDARD.encode_string(data, payload);
        }
    }
}

/// What a transport writes: a text frame carrying a whole Engine.IO packet (`"4..."`), or a
/// binary frame carrying a raw binary message. Both clone cheaply, so one encoded frame can be
/// fanned out to many sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame: a whole Engine.IO packet.
    Text(ByteString),
    /// A binary frame: a raw binary message.
    Binary(Bytes),
}

impl Frame {
    /// The frame of a packet.
    pub fn of(packet: &Packet) -> Frame {
        match packet {
            Packet::Binary(data) => Frame::Binary(data.clone()),
            other => Frame::Text(other.encode_text().unwrap_or_default()),
        }
    }

    /// A message frame: `4` + `text`.
    pub fn message(text: &str) -> Frame {
        let mut out = String::with_capacity(1 + text.len());
        out.push('4');
        out.push_str(text);
        Frame::Text(out.into())
    }

    /// Bytes on the wire, for queue accounting.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => data.len(),
        }
    }

    /// Whether the frame carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_every_packet_type() {
        assert_eq!(Packet::decode("1"), Ok(Packet::Close));
        assert_eq!(Packet::decode("2"), Ok(Packet::Ping("".into())));
        assert_eq!(Packet::decode("2probe"), Ok(Packet::Ping("probe".into())));
        assert_eq!(Packet::decode("3probe"), Ok(Packet::Pong("probe".into())));
        assert_eq!(
            Packet::decode("4hello"),
            Ok(Packet::Message("hello".into()))
        );
        assert_eq!(Packet::decode("4"), Ok(Packet::Message("".into())));
        assert_eq!(Packet::decode("5"), Ok(Packet::Upgrade));
        assert_eq!(Packet::decode("6"), Ok(Packet::Noop));
        assert_eq!(
            Packet::decode("bAQIDBA=="),
            Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        );
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Packet::decode(""), Err(DecodeError::Empty));
        assert_eq!(Packet::decode("abc"), Err(DecodeError::UnknownType('a')));
        assert_eq!(Packet::decode("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(Packet::decode("b!!"), Err(DecodeError::Base64));
        assert_eq!(Packet::decode("é"), Err(DecodeError::UnknownType('é')));
    }

    #[test]
    fn payloads_split_and_join_on_the_record_separator() {
        let packets = decode_payload("4hello\x1ebAQIDBA==\x1e2").unwrap();
        assert_eq!(
            packets,
            [
                Packet::Message("hello".into()),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Ping("".into())
            ]
        );
        let mut payload = String::new();
        for packet in &packets {
            push_payload(&mut payload, &Frame::of(packet));
        }
        assert_eq!(payload, "4hello\x1ebAQIDBA==\x1e2");
        assert!(
            decode_payload("4a\x1e\x1e4b").is_err(),
            "an empty record is invalid"
        );
    }

    proptest! {
        #[test]
        fn messages_round_trip(text in "\\PC*", data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let packets = vec![Packet::Message(text.as_str().into()), Packet::Binary(data.into())];
            let mut payload = String::new();
            for packet in &packets {
                push_payload(&mut payload, &Frame::of(packet));
            }
            // A message containing the separator cannot round-trip through polling; the
            // client never sends one (it is not valid in JSON text without escaping).
            prop_assume!(!text.contains(SEPARATOR));
            prop_assert_eq!(decode_payload(&payload).unwrap(), packets);
        }

        #[test]
        fn decoding_never_panics(text in "\\PC*") {
            let _ = Packet::decode(&text);
            let _ = decode_payload(&text);
        }

        /// What a payload decodes to is never larger than the payload itself, so the transport's
        /// maxPayload bounds every allocation made from it.
        #[test]
        fn decoded_packets_are_never_larger_than_their_payload(
            records in proptest::collection::vec(("[0-6b]", "[A-Za-z0-9+/=]{0,40}"), 1..8)
        ) {
            let body: Vec<String> = records.iter().map(|(t, d)| format!("{t}{d}")).collect();
            let body = body.join("\x1e");
            if let Ok(packets) = decode_payload(&body) {
                let size: usize = packets.iter().map(|p| Frame::of(p).len()).sum();
                prop_assert!(size <= body.len(), "{} > {}", size, body.len());
            }
        }
    }
}
