use super::*;
use proptest::prelude::*;
use serde_json::json;

fn ok(text: &str) -> Packet {
    decode(text, 10).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn headers_leave_the_data_as_text() {
    let header = decode_header(r#"3/chat,17["x",{"a":1}]"#, 0).unwrap();
    assert_eq!(
        (header.kind, header.nsp, header.id, header.data),
        (PacketType::Ack, "/chat", Some(17), r#"["x",{"a":1}]"#)
    );
    let binary = decode_header("52-[\"e\"]", 2).unwrap();
    assert_eq!((binary.attachments, binary.data), (2, "[\"e\"]"));
    assert_eq!(
        decode_header("53-[]", 2),
        Err(ParseError::TooManyAttachments)
    );
    assert_eq!(
        encode_connect_with("/", &json!({ "token": "t" })).unwrap(),
        r#"0{"token":"t"}"#
    );
}

#[test]
fn connect_with_and_without_namespace_and_auth() {
    let p = ok("0");
    assert_eq!(
        (p.kind, p.nsp.as_str(), p.data),
        (PacketType::Connect, "/", None)
    );
    let p = ok("0{\"token\":\"abc\"}");
    assert_eq!(p.data, Some(json!({ "token": "abc" })));
    assert_eq!(ok("0/custom,").nsp, "/custom");
    assert_eq!(ok("0/custom").nsp, "/custom");
    assert_eq!(ok("1/custom").kind, PacketType::Disconnect);
    let p = ok("0/custom,{\"a\":1}");
    assert_eq!(
        (p.nsp.as_str(), p.data),
        ("/custom", Some(json!({ "a": 1 })))
    );
    assert_eq!(decode("0[1]", 10), Err(ParseError::InvalidPayload));
    assert_eq!(decode("1{}", 10), Err(ParseError::InvalidPayload));
}

#[test]
fn events_and_acks_with_ids() {
    let p = ok("212[\"chat\",\"hi\"]");
    assert_eq!((p.kind, p.id), (PacketType::Event, Some(12)));
    assert_eq!(p.data, Some(json!(["chat", "hi"])));
    let p = ok("2/custom,7[\"x\"]");
    assert_eq!((p.nsp.as_str(), p.id), ("/custom", Some(7)));
    let p = ok("312[\"ok\"]");
    assert_eq!((p.kind, p.id), (PacketType::Ack, Some(12)));
    assert_eq!(
        decode("2{\"a\":1}", 10),
        Err(ParseError::InvalidPayload),
        "not an array"
    );
    assert_eq!(
        decode("2[]", 10),
        Err(ParseError::InvalidPayload),
        "no event name"
    );
    assert_eq!(
        decode("2[\"connect\"]", 10),
        Err(ParseError::InvalidPayload),
        "reserved"
    );
    assert_eq!(decode("2[{}]", 10), Err(ParseError::InvalidPayload));
    assert_eq!(
        decode("2abc[\"x\"]", 10),
        Err(ParseError::InvalidJson),
        "bad ack id"
    );
    assert_eq!(
        decode("21234567890123456[\"x\"]", 10),
        Err(ParseError::InvalidAckId)
    );
    assert_eq!(decode("2[\"x\"", 10), Err(ParseError::InvalidJson));
    assert_eq!(decode("3{}", 10), Err(ParseError::InvalidPayload));
    assert_eq!(decode("9", 10), Err(ParseError::UnknownType));
    assert_eq!(decode("", 10), Err(ParseError::Empty));
}

#[test]
fn binary_packets_count_their_attachments() {
    let p = ok("51-[\"chat\",{\"_placeholder\":true,\"num\":0}]");
    assert_eq!((p.kind, p.attachments), (PacketType::BinaryEvent, 1));
    let p = ok("62-/custom,3[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]");
    assert_eq!(
        (p.kind, p.attachments, p.nsp.as_str(), p.id),
        (PacketType::BinaryAck, 2, "/custom", Some(3))
    );
    assert_eq!(
        decode("5[\"x\"]", 10),
        Err(ParseError::IllegalAttachments),
        "no dash"
    );
    assert_eq!(
        decode("5a-[\"x\"]", 10),
        Err(ParseError::IllegalAttachments)
    );
    assert_eq!(
        decode("511-[\"x\"]", 10),
        Err(ParseError::TooManyAttachments)
    );
    let out_of_range = "51-[\"x\",{\"_placeholder\":true,\"num\":1}]";
    assert_eq!(
        decode(out_of_range, 10),
        Err(ParseError::IllegalAttachments)
    );
}

#[test]
fn encodes_what_the_official_client_expects() {
    assert_eq!(encode_connect("/", "abc"), "0{\"sid\":\"abc\"}");
    assert_eq!(
        encode_connect("/custom", "abc"),
        "0/custom,{\"sid\":\"abc\"}"
    );
    assert_eq!(
        encode_connect_error("/admin", "Invalid namespace", None),
        "4/admin,{\"message\":\"Invalid namespace\"}"
    );
    assert_eq!(
        encode_connect_error(
            "/",
            "unauthorized",
            Some(&json!({ "code": "unauthorized" }))
        ),
        "4{\"message\":\"unauthorized\",\"data\":{\"code\":\"unauthorized\"}}"
    );
    assert_eq!(encode_disconnect("/"), "1");
    assert_eq!(
        encode_event("/", "chat", &[json!("hi")], 0, None),
        "2[\"chat\",\"hi\"]"
    );
    assert_eq!(
        encode_event("/", "chat", &[placeholder(0)], 1, None),
        "51-[\"chat\",{\"_placeholder\":true,\"num\":0}]"
    );
    assert_eq!(
        encode_event_with("/x", "e", &json!({ "a": 1 })).unwrap(),
        "2/x,[\"e\",{\"a\":1}]"
    );
    assert_eq!(encode_ack("/", 12, &[json!(1)], 0), "312[1]");
    assert_eq!(
        encode_event_json("/", "message:new", "{\"seq\":1}"),
        "2[\"message:new\",{\"seq\":1}]"
    );
    assert_eq!(
        encode_ack_json("/", 7, "{\"ok\":true}"),
        "37[{\"ok\":true}]"
    );
    assert_eq!(
        encode_ack("/c", 3, &[placeholder(0)], 1),
        "61-/c,3[{\"_placeholder\":true,\"num\":0}]"
    );
}

proptest! {
    #[test]
    fn decoding_never_panics(text in "\\PC*") {
        let _ = decode(&text, 10);
    }

    #[test]
    fn events_round_trip(name in "[a-z:]{1,12}", arg in "\\PC{0,20}", id in proptest::option::of(0u64..1_000_000)) {
        let text = encode_event("/", &name, &[json!(arg)], 0, id);
        let p = decode(&text, 10).unwrap();
        prop_assert_eq!(p.id, id);
        prop_assert_eq!(p.data, Some(json!([name, arg])));
    }
}
