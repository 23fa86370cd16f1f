//! The contract's events (PROTOCOL.md §5 and §6) as typed values: what a client sends is
//! decoded once into [`ClientEvent`]; what the server sends is a struct per event that
//! serialises to exactly the contract's JSON.

mod client;
mod server;

pub use client::{
    AuthRefresh, ClientEvent, ConversationRef, EventError, MessageDelete, MessageEdit, MessageSend,
    PresenceQuery, ReactionChange, Receipt, SyncChanges, SyncRequest,
};
pub use server::{
    encode, Ack, AckError, ChangesAck, ContactUpdated, ConversationAdded, ConversationRemoved,
    ConversationUpdated, HistoryAck, MessageAck, MessageSent, PresenceAck, PresenceEntry,
    PresenceUpdate, ReactionUpdated, ReadyEntry, ReceiptAck, ReceiptUpdated, RefreshAck,
    RequestError, ServerEvent, SessionExpiring, SessionReady, TypingStart, TypingStop,
    CONTACT_REQUEST, MESSAGE_NEW, MESSAGE_UPDATED, SERVER_EVENTS,
};
