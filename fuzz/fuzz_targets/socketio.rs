//! The Socket.IO decoder, binary attachments included: a packet's text, then the attachment
//! count it announces. Nothing may panic; what decodes respects the attachment limit, and
//! every placeholder of a binary packet names one of its attachments (attachments no
//! placeholder names are allowed, as the reference parser allows them).

#![no_main]

use confab_protocol::socketio::{decode, decode_header};
use libfuzzer_sys::fuzz_target;

const MAX_ATTACHMENTS: usize = 10;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let header = decode_header(text, MAX_ATTACHMENTS);
    match decode(text, MAX_ATTACHMENTS) {
        Ok(packet) => {
            assert!(packet.attachments <= MAX_ATTACHMENTS);
            let header = header.expect("a packet that decodes has a header");
            assert_eq!(header.attachments, packet.attachments);
            if packet.kind.is_binary() {
                if let Some(data) = &packet.data {
                    assert!(placeholders_in_range(data, packet.attachments), "{data}");
                }
            } else {
                assert_eq!(packet.attachments, 0);
            }
        }
        Err(_) => {}
    }
});

fn placeholders_in_range(value: &serde_json::Value, count: usize) -> bool {
    use serde_json::Value;
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => map
            .get("num")
            .and_then(Value::as_u64)
            .is_some_and(|n| (n as usize) < count),
        Value::Object(map) => map.values().all(|v| placeholders_in_range(v, count)),
        Value::Array(items) => items.iter().all(|v| placeholders_in_range(v, count)),
        _ => true,
    }
}
