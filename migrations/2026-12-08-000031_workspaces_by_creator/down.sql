DROP INDEX workspaces_created_by;
