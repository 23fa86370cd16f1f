//! The Engine.IO decoder: single packets (a WebSocket frame's text) and polling payloads.
//! Nothing may panic; a packet that decodes and encodes again decodes to the same packet.

#![no_main]

use confab_protocol::engineio::{decode_payload, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(packet) = Packet::decode(text) {
        if let Some(encoded) = packet.encode_text() {
            let again = Packet::decode(&encoded).expect("an encoded packet decodes");
            assert_eq!(format!("{again:?}"), format!("{packet:?}"));
        }
    }
    if let Ok(packets) = decode_payload(text) {
        assert!(packets.len() <= text.len() + 1);
    }
});
