-- The daily cap on new workspaces counts those a user created in the last 24 hours.
CREATE INDEX workspaces_created_by ON workspaces (created_by, created_at);
