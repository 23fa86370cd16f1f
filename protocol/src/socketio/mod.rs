//! Socket.IO v5 packets, carried in Engine.IO messages:
//! `<type>[<attachments>-][<namespace>,][<ack id>][<json>]`.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// Event names a client may not use.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Longest ack id accepted, in digits.
const MAX_ACK_ID_DIGITS: usize = 15;

/// The Socket.IO v5 packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: connect to a namespace (or accepted).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: an ack.
    Ack,
    /// `4`: a refused CONNECT.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl PacketType {
    fn from_char(c: char) -> Option<PacketType> {
        Some(match c {
            '0' => PacketType::Connect,
            '1' => PacketType::Disconnect,
            '2' => PacketType::Event,
            '3' => PacketType::Ack,
            '4' => PacketType::ConnectError,
            '5' => PacketType::BinaryEvent,
            '6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            PacketType::Connect => '0',
            PacketType::Disconnect => '1',
            PacketType::Event => '2',
            PacketType::Ack => '3',
            PacketType::ConnectError => '4',
            PacketType::BinaryEvent => '5',
            PacketType::BinaryAck => '6',
        }
    }

    /// Whether binary attachments follow the packet.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// A decoded packet. Binary attachments, when announced, follow as separate Engine.IO binary
/// messages; the session collects them before the packet is complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace (`/` when none is written).
    pub nsp: String,
    /// The ack id, when there is one.
    pub id: Option<u64>,
    /// The JSON data, when there is any.
    pub data: Option<Value>,
    /// How many binary attachments follow.
    pub attachments: usize,
}

/// Why a Socket.IO packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An empty message.
    #[error("empty packet")]
    Empty,
    /// A type digit Socket.IO v5 does not have.
    #[error("unknown packet type")]
    UnknownType,
    /// A malformed attachment count or placeholder.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments than allowed.
    #[error("too many attachments")]
    TooManyAttachments,
    /// An ack id that is not a number of at most 15 digits.
    #[error("invalid ack id")]
    InvalidAckId,
    /// Data that is not JSON.
    #[error("invalid JSON payload")]
    InvalidJson,
    /// Data of the wrong shape for the packet type.
    #[error("invalid payload for the packet type")]
    InvalidPayload,
}

/// A packet's header, its data left as JSON text: what a client that only picks out a few
/// events reads, without building JSON values for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace (`/` when none is written).
    pub nsp: &'a str,
    /// The ack id, when there is one.
    pub id: Option<u64>,
    /// How many binary attachments follow.
    pub attachments: usize,
    /// The JSON text after the header (empty when the packet has no data).
    pub data: &'a str,
}

/// Reads the header of a packet from the text of an Engine.IO message, accepting at most
/// `max_attachments` binary attachments. The data is not checked.
pub fn decode_header(text: &str, max_attachments: usize) -> Result<Header<'_>, ParseError> {
    let mut rest = text;
    let kind = rest.chars().next().ok_or(ParseError::Empty)?;
    let kind = PacketType::from_char(kind).ok_or(ParseError::UnknownType)?;
    rest = &rest[1..];

    let mut attachments = 0;
    if kind.is_binary() {
        let dash = rest.find('-').ok_or(ParseError::IllegalAttachments)?;
        let count = &rest[..dash];
        if count.is_empty() || count.len() > 3 || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::IllegalAttachments);
        }
        attachments = count.parse().map_err(|_| ParseError::IllegalAttachments)?;
        if attachments > max_attachments {
            return Err(ParseError::TooManyAttachments);
        }
        rest = &rest[dash + 1..];
    }

    let mut nsp = "/";
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
    }

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        if digits > MAX_ACK_ID_DIGITS {
            return Err(ParseError::InvalidAckId);
        }
        let id = rest[..digits]
            .parse()
            .map_err(|_| ParseError::InvalidAckId)?;
        rest = &rest[digits..];
        Some(id)
    } else {
        None
    };
    Ok(Header {
        kind,
        nsp,
        id,
        attachments,
        data: rest,
    })
}

/// Decodes a packet from the text of an Engine.IO message, accepting at most
/// `max_attachments` binary attachments.
pub fn decode(text: &str, max_attachments: usize) -> Result<Packet, ParseError> {
    let Header {
        kind,
        nsp,
        id,
        attachments,
        data: rest,
    } = decode_header(text, max_attachments)?;

    let data = if rest.is_empty() {
        None
    } else {
        // An unpaired surrogate is the sender's text, refused by name later, not a broken packet.
        Some(crate::text::parse_json(rest).map_err(|_| ParseError::InvalidJson)?)
    };

    let valid = match kind {
        PacketType::Connect => data.as_ref().is_none_or(Value::is_object),
        PacketType::Disconnect => data.is_none(),
        PacketType::Event | PacketType::BinaryEvent => is_event_payload(data.as_ref()),
        PacketType::Ack | PacketType::BinaryAck => data.as_ref().is_some_and(Value::is_array),
        PacketType::ConnectError => data
            .as_ref()
            .is_some_and(|d| d.is_string() || d.is_object()),
    };
    if !valid {
        return Err(ParseError::InvalidPayload);
    }
    if kind.is_binary() && !placeholders_valid(data.as_ref().unwrap_or(&Value::Null), attachments) {
        return Err(ParseError::IllegalAttachments);
    }
    Ok(Packet {
        kind,
        nsp: nsp.to_string(),
        id,
        data,
        attachments,
    })
}

fn is_event_payload(data: Option<&Value>) -> bool {
    match data.and_then(Value::as_array).and_then(|args| args.first()) {
        Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
        Some(Value::Number(_)) => true,
        _ => false,
    }
}

/// Whether every `{"_placeholder":true,"num":n}` in `value` names one of `count` attachments.
fn placeholders_valid(value: &Value, count: usize) -> bool {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => map
            .get("num")
            .and_then(Value::as_u64)
            .is_some_and(|n| (n as usize) < count),
        Value::Object(map) => map.values().all(|v| placeholders_valid(v, count)),
        Value::Array(items) => items.iter().all(|v| placeholders_valid(v, count)),
        _ => true,
    }
}

/// Event arguments, with the binary attachments their placeholders point to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The event's arguments, placeholders included.
    pub args: Vec<Value>,
    /// The binary attachments, in order.
    pub binary: Vec<Bytes>,
}

impl Payload {
    /// Arguments without attachments.
    pub fn json(args: Vec<Value>) -> Payload {
        Payload {
            args,
            binary: Vec::new(),
        }
    }

    /// The first argument, decoded into `T`.
    pub fn first<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.args.first().unwrap_or(&Value::Null))
    }
}

/// The placeholder that stands for attachment `num` in a binary packet.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

fn header(kind: PacketType, attachments: usize, nsp: &str, id: Option<u64>) -> String {
    let mut out = String::with_capacity(32);
    out.push(kind.digit());
    if kind.is_binary() {
        out.push_str(&attachments.to_string());
        out.push('-');
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
    out
}

/// `0{…}` (or `0/nsp,{…}`): a client's CONNECT with its auth payload.
pub fn encode_connect_with<T: Serialize + ?Sized>(
    nsp: &str,
    auth: &T,
) -> Result<String, serde_json::Error> {
    let mut out = header(PacketType::Connect, 0, nsp, None);
    out.push_str(&serde_json::to_string(auth)?);
    Ok(out)
}

/// `0{"sid":…}` (or `0/nsp,{"sid":…}`): a namespace CONNECT accepted.
pub fn encode_connect(nsp: &str, sid: &str) -> String {
    let mut out = header(PacketType::Connect, 0, nsp, None);
    out.push_str(&serde_json::json!({ "sid": sid }).to_string());
    out
}

/// `44{"message":…,"data":…}`: a namespace CONNECT refused.
pub fn encode_connect_error(nsp: &str, message: &str, data: Option<&Value>) -> String {
    let mut out = header(PacketType::ConnectError, 0, nsp, None);
    let body = match data {
        Some(data) => serde_json::json!({ "message": message, "data": data }),
        None => serde_json::json!({ "message": message }),
    };
    out.push_str(&body.to_string());
    out
}

/// `41` (or `41/nsp,`): the server closes a namespace.
pub fn encode_disconnect(nsp: &str) -> String {
    header(PacketType::Disconnect, 0, nsp, None)
}

/// An EVENT with `args` after the event name. With `attachments > 0` it is a BINARY_EVENT
/// whose args already hold the placeholders.
pub fn encode_event(
    nsp: &str,
    event: &str,
    args: &[Value],
    attachments: usize,
    id: Option<u64>,
) -> String {
    let kind = if attachments > 0 {
        PacketType::BinaryEvent
    } else {
        PacketType::Event
    };
    let mut out = header(kind, attachments, nsp, id);
    out.push_str(&event_array(event, args));
    out
}

/// An EVENT with a single serializable argument: `42["event",data]`.
pub fn encode_event_with<T: Serialize + ?Sized>(
    nsp: &str,
    event: &str,
    data: &T,
) -> Result<String, serde_json::Error> {
    let mut out = header(PacketType::Event, 0, nsp, None);
    out.push_str(&serde_json::to_string(&(event, data))?);
    Ok(out)
}

/// An EVENT with a single serializable argument that asks for an ack: `2<id>["event",data]`.
pub fn encode_event_with_ack<T: Serialize + ?Sized>(
    nsp: &str,
    event: &str,
    data: &T,
    id: u64,
) -> Result<String, serde_json::Error> {
    let mut out = header(PacketType::Event, 0, nsp, Some(id));
    out.push_str(&serde_json::to_string(&(event, data))?);
    Ok(out)
}

/// An EVENT whose single argument is already JSON text: `42["event",<json>]`.
pub fn encode_event_json(nsp: &str, event: &str, json: &str) -> String {
    let mut out = header(PacketType::Event, 0, nsp, None);
    out.reserve(event.len() + json.len() + 8);
    out.push('[');
    out.push_str(&Value::from(event).to_string());
    out.push(',');
    out.push_str(json);
    out.push(']');
    out
}

/// An ACK whose single argument is already JSON text: `3<id>[<json>]`.
pub fn encode_ack_json(nsp: &str, id: u64, json: &str) -> String {
    let mut out = header(PacketType::Ack, 0, nsp, Some(id));
    out.push('[');
    out.push_str(json);
    out.push(']');
    out
}

/// An ACK with `args` (a BINARY_ACK when `attachments > 0`).
pub fn encode_ack(nsp: &str, id: u64, args: &[Value], attachments: usize) -> String {
    let kind = if attachments > 0 {
        PacketType::BinaryAck
    } else {
        PacketType::Ack
    };
    let mut out = header(kind, attachments, nsp, Some(id));
    out.push_str(&Value::Array(args.to_vec()).to_string());
    out
}

fn event_array(event: &str, args: &[Value]) -> String {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Value::String(event.to_string()));
    all.extend_from_slice(args);
    Value::Array(all).to_string()
}

#[cfg(test)]
mod tests;
