DROP TABLE reactions;
DROP TABLE attachments;
DROP TABLE messages;
