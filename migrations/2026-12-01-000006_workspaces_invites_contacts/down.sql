ALTER TABLE users DROP COLUMN dm_from_contacts_only;
DROP TABLE contacts;
DROP TABLE contact_requests;
DROP TABLE invites;
ALTER TABLE conversations DROP COLUMN visibility, DROP COLUMN workspace_id;
DROP TABLE workspace_members;
DROP TABLE workspaces;
