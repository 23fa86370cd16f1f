CREATE TABLE conversations (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            TEXT NOT NULL CHECK (kind IN ('dm', 'group')),
    title           TEXT,
    -- "<smaller user id>:<larger user id>" for a DM, so a pair has exactly one DM.
    dm_key          TEXT UNIQUE,
    created_by      UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The seq of the newest message; a send takes last_seq + 1 under this row's lock.
    last_seq        BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_message_at TIMESTAMPTZ,
    CHECK ((kind = 'dm') = (dm_key IS NOT NULL))
);
-- Conversation lists are ordered by latest activity.
CREATE INDEX conversations_activity ON conversations ((coalesce(last_message_at, created_at)) DESC, id DESC);

CREATE TABLE conversation_members (
    conversation_id    UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role               TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_delivered_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_delivered_seq >= 0),
    last_read_seq      BIGINT NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members (user_id);
