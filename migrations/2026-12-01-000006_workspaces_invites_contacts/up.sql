-- Workspaces (PROTOCOL.md v1.1 section 7): a tenant partition with roles, whose channels are
-- group conversations that name it; public channels can be found and joined by its members.
CREATE TABLE workspaces (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{3,40}$'),
    created_by UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE workspace_members (
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

ALTER TABLE conversations
    ADD COLUMN workspace_id UUID REFERENCES workspaces (id) ON DELETE CASCADE,
    ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    ADD CONSTRAINT conversations_public_in_workspace
        CHECK (visibility = 'private' OR (workspace_id IS NOT NULL AND kind = 'group'));
-- Channel discovery: a workspace's public channels by title (prefix, case-insensitive), then id.
CREATE INDEX conversations_public_channels
    ON conversations (workspace_id, lower(title) COLLATE "C", id) WHERE visibility = 'public';
-- Leaving a workspace leaves its channels.
CREATE INDEX conversations_workspace ON conversations (workspace_id) WHERE workspace_id IS NOT NULL;

-- Invite links. Only a hash of the code is stored (a leaked database opens nothing); the code
-- itself is kept sealed with a key the database does not hold, so that admins can list it.
CREATE TABLE invites (
    code_hash       BYTEA PRIMARY KEY CHECK (length(code_hash) = 32),
    sealed_code     BYTEA NOT NULL,
    conversation_id UUID REFERENCES conversations (id) ON DELETE CASCADE,
    workspace_id    UUID REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    max_uses        INTEGER CHECK (max_uses BETWEEN 1 AND 1000),
    uses            INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    revoked_at      TIMESTAMPTZ,
    CHECK ((conversation_id IS NULL) <> (workspace_id IS NULL))
);
CREATE INDEX invites_conversation ON invites (conversation_id, created_at) WHERE conversation_id IS NOT NULL;
CREATE INDEX invites_workspace ON invites (workspace_id, created_at) WHERE workspace_id IS NOT NULL;

-- Contacts: requests, and the accepted pairs (one row each way).
CREATE TABLE contact_requests (
    id           UUID PRIMARY KEY,
    from_user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    answered_at  TIMESTAMPTZ,
    CHECK (from_user_id <> to_user_id)
);
-- At most one open request between two users, whichever of them sent it.
CREATE UNIQUE INDEX contact_requests_open ON contact_requests
    (least(from_user_id, to_user_id), greatest(from_user_id, to_user_id)) WHERE status = 'pending';
CREATE INDEX contact_requests_incoming ON contact_requests (to_user_id, created_at) WHERE status = 'pending';
-- The daily allowance counts every request a user sent.
CREATE INDEX contact_requests_sent ON contact_requests (from_user_id, created_at);

CREATE TABLE contacts (
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, contact_id),
    CHECK (user_id <> contact_id)
);

ALTER TABLE users ADD COLUMN dm_from_contacts_only BOOLEAN NOT NULL DEFAULT false;
