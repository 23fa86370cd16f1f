// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    attachments (id) {
        id -> Uuid,
        uploader_id -> Uuid,
        message_id -> Nullable<Int8>,
        content_type -> Text,
        size_bytes -> Int8,
        name -> Text,
        storage_key -> Text,
        created_at -> Timestamptz,
        released_at -> Nullable<Timestamptz>,
        upload_expires_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        position -> Nullable<Int2>,
        thumbnail_key -> Nullable<Text>,
        thumbnailed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    blocks (blocker_id, blocked_id) {
        blocker_id -> Uuid,
        blocked_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    contact_requests (id) {
        id -> Uuid,
        from_user_id -> Uuid,
        to_user_id -> Uuid,
        status -> Text,
        created_at -> Timestamptz,
        answered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    contacts (user_id, contact_id) {
        user_id -> Uuid,
        contact_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    conversation_members (conversation_id, user_id) {
        conversation_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
        last_delivered_seq -> Int8,
        last_read_seq -> Int8,
    }
}

diesel::table! {
    conversations (id) {
        id -> Uuid,
        kind -> Text,
        title -> Nullable<Text>,
        dm_key -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_seq -> Int8,
        last_message_at -> Nullable<Timestamptz>,
        last_rev -> Int8,
        workspace_id -> Nullable<Uuid>,
        visibility -> Text,
    }
}

diesel::table! {
    invites (code_hash) {
        code_hash -> Bytea,
        sealed_code -> Bytea,
        conversation_id -> Nullable<Uuid>,
        workspace_id -> Nullable<Uuid>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        max_uses -> Nullable<Int4>,
        uses -> Int4,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        key -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    messages (id) {
        id -> Int8,
        conversation_id -> Uuid,
        seq -> Int8,
        sender_id -> Uuid,
        client_message_id -> Text,
        body -> Text,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        rev -> Int8,
        reply_to_id -> Nullable<Int8>,
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    reactions (message_id, user_id, emoji) {
        message_id -> Int8,
        user_id -> Uuid,
        emoji -> Text,
        created_at -> Timestamptz,
        position -> Int8,
        emoji_order -> Int8,
    }
}

diesel::table! {
    receipt_moves (conversation_id, user_id, delivered_seq, read_seq) {
        conversation_id -> Uuid,
        user_id -> Uuid,
        delivered_seq -> Int8,
        read_seq -> Int8,
        at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reports (id) {
        id -> Uuid,
        reporter_id -> Uuid,
        reported_user_id -> Nullable<Uuid>,
        message_id -> Nullable<Int8>,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    storage_garbage (key) {
        key -> Text,
        queued_at -> Timestamptz,
        due_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        username -> Text,
        display_name -> Text,
        avatar_url -> Nullable<Text>,
        password_hash -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Nullable<Timestamptz>,
        read_receipts -> Bool,
        presence_visible -> Bool,
        dm_from_contacts_only -> Bool,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workspace_members (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(attachments -> users (uploader_id));
diesel::joinable!(conversation_members -> conversations (conversation_id));
diesel::joinable!(conversation_members -> users (user_id));
diesel::joinable!(conversations -> users (created_by));
diesel::joinable!(conversations -> workspaces (workspace_id));
diesel::joinable!(invites -> conversations (conversation_id));
diesel::joinable!(invites -> users (created_by));
diesel::joinable!(invites -> workspaces (workspace_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(messages -> users (sender_id));
diesel::joinable!(reactions -> messages (message_id));
diesel::joinable!(reactions -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(reports -> messages (message_id));
diesel::joinable!(workspace_members -> users (user_id));
diesel::joinable!(workspace_members -> workspaces (workspace_id));
diesel::joinable!(workspaces -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    blocks,
    contact_requests,
    contacts,
    conversation_members,
    conversations,
    invites,
    login_failures,
    messages,
    reactions,
    receipt_moves,
    refresh_tokens,
    reports,
    storage_garbage,
    users,
    workspace_members,
    workspaces,
);
