//! Event payloads: JSON as a client sends it (unpaired surrogates included) decoded into the
//! contract's events. Nothing may panic; an event that decodes holds no NUL in any string.

#![no_main]

use confab_protocol::events::ClientEvent;
use confab_protocol::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let Ok(json) = std::str::from_utf8(json) else {
        return;
    };
    if let Some(repaired) = text::replace_unpaired_surrogates(json) {
        assert!(repaired.len() >= json.len());
    }
    let Ok(value) = text::parse_json(json) else {
        return;
    };
    let nul = text::find_nul(&value);
    let name = ClientEvent::NAMES[usize::from(selector) % ClientEvent::NAMES.len()];
    if let Ok(event) = ClientEvent::decode(name, Some(&value)) {
        assert_eq!(event.name(), name);
        assert!(nul.is_none(), "an event with NUL in {nul:?} decoded");
    }
});
