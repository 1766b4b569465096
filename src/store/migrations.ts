// Versioned schema. Entry N moves the database from user_version N to N+1; never edit a shipped entry,
// append a new one.
export const migrations: readonly string[] = [
  `
  -- Every inbound message is written here before it is processed (the "acknowledged" point).
  -- (platform, message_id) is the dedupe key; done rows are kept at least 24 h so redeliveries are caught.
  CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    conversation TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    received_at  INTEGER NOT NULL,
    done_at      INTEGER,
    UNIQUE (platform, message_id)
  );
  CREATE INDEX inbox_pending ON inbox (status, id) WHERE status = 'pending';
  CREATE INDEX inbox_done_at ON inbox (done_at) WHERE status = 'done';

  -- Replies are written here in the same transaction that marks their turn done, then sent.
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    inbox_id        INTEGER NOT NULL UNIQUE REFERENCES inbox (id) ON DELETE CASCADE,
    platform        TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    in_reply_to     TEXT NOT NULL,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    receipt         TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
  );
  CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status = 'pending';

  -- A conversation (platform + chat) and its history; started_at moves when the session expires.
  CREATE TABLE sessions (
    conversation TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text         TEXT NOT NULL,
    at           INTEGER NOT NULL
  );
  CREATE INDEX messages_conversation ON messages (conversation, id);
  `,
  `
  -- Replies go back into the thread they answer; a reply split into several platform messages
  -- remembers how many parts were accepted, so a retry resumes after them.
  ALTER TABLE outbox ADD COLUMN thread_id TEXT;
  ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- A reply streamed into a preview message replaces that message instead of posting a new one.
  ALTER TABLE outbox ADD COLUMN edit_of TEXT;
  `,
  `
  -- Messages nobody asked for right then (a scheduled report, an approved command's result for its
  -- requester) go through the outbox too: inbox_id and in_reply_to become optional. SQLite cannot relax
  -- NOT NULL in place, so the table is rebuilt with its rows and index.
  CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    inbox_id        INTEGER UNIQUE REFERENCES inbox (id) ON DELETE CASCADE,
    platform        TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    in_reply_to     TEXT,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    receipt         TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    thread_id       TEXT,
    parts_sent      INTEGER NOT NULL DEFAULT 0,
    edit_of         TEXT
  );
  INSERT INTO outbox_new (id, inbox_id, platform, chat_id, in_reply_to, text, status, attempts, next_attempt_at,
                          last_error, receipt, created_at, sent_at, thread_id, parts_sent, edit_of)
    SELECT id, inbox_id, platform, chat_id, in_reply_to, text, status, attempts, next_attempt_at,
           last_error, receipt, created_at, sent_at, thread_id, parts_sent, edit_of FROM outbox;
  DROP TABLE outbox;
  ALTER TABLE outbox_new RENAME TO outbox;
  CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status = 'pending';

  -- The audit trail: the seed's fields plus who/what/decision; each record carries the hash of the one
  -- before it (tamper evidence). timestamp is ms since epoch.
  CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    timestamp     INTEGER NOT NULL,
    event_type    TEXT NOT NULL,
    user_id       TEXT,
    platform      TEXT,
    role          TEXT,
    conversation  TEXT,
    decision      TEXT,
    input         TEXT,
    output        TEXT,
    duration_ms   INTEGER,
    model_version TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
  );
  CREATE INDEX audit_user ON audit (platform, user_id, id);
  CREATE INDEX audit_event ON audit (event_type, id);

  -- Commands marked approve: true wait here for an Admin's decision.
  CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    command       TEXT NOT NULL,
    args          TEXT NOT NULL,
    requester     TEXT NOT NULL,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    thread_id     TEXT,
    in_reply_to   TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    decided_by    TEXT,
    decided_at    INTEGER
  );
  CREATE INDEX approvals_pending ON approvals (status, expires_at) WHERE status = 'pending';

  -- One row per schedule slot that was claimed: the primary key makes "never twice" a constraint.
  CREATE TABLE schedule_runs (
    schedule    TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'skipped')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    detail      TEXT,
    PRIMARY KEY (schedule, slot)
  ) WITHOUT ROWID;
  `,
  `
  -- API keys managed with clawdbot keys add|list|revoke: only a hash is stored (the key is shown once, when made).
  CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );

  -- Facts about the database itself (e.g. how its text columns are encrypted, and with which key).
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Context memory (src/store/memory.ts). One row per remembered message or imported chunk; scope is the
  -- search key ("user:PLATFORM:USERID", "chat:PLATFORM:CHATID" or "shared"), platform/user_id/chat_id
  -- say whose it is (for forget). embed_model/embed_dims name the vector the row has (NULL: none yet).
  CREATE TABLE memory_items (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL,
    platform     TEXT,
    user_id      TEXT,
    chat_id      TEXT,
    role         TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'knowledge')),
    text         TEXT NOT NULL,
    source       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    embed_model  TEXT,
    embed_dims   INTEGER,
    created_at   INTEGER NOT NULL
  );
  CREATE INDEX memory_items_scope ON memory_items (scope, created_at);
  CREATE INDEX memory_items_person ON memory_items (platform, user_id);
  CREATE INDEX memory_items_created ON memory_items (created_at);
  CREATE INDEX memory_items_source ON memory_items (source);
  CREATE INDEX memory_items_embed ON memory_items (embed_model, embed_dims);

  -- Full-text index of memory_items.text. Contentless: the text is stored once (in memory_items), the
  -- index holds only terms; contentless_delete lets a row be deleted by id, and secure-delete removes its
  -- terms from the index at once (forget must leave nothing behind in the file).
  CREATE VIRTUAL TABLE memory_fts USING fts5 (text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
  INSERT INTO memory_fts (memory_fts, rank) VALUES ('secure-delete', 1);
  -- Document frequency per term: tells a query's distinctive keywords from its common words.
  CREATE VIRTUAL TABLE memory_fts_vocab USING fts5vocab (memory_fts, row);

  -- One sqlite-vec index per embedding model and dimension (table memory_vec_ID), so vectors of another
  -- model are never compared with the current one's.
  CREATE TABLE memory_vector_indexes (
    id         INTEGER PRIMARY KEY,
    model      TEXT NOT NULL,
    dims       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (model, dims)
  );

  -- Files imported into the shared scope, by content hash: an unchanged file is not imported again.
  CREATE TABLE memory_sources (
    path         TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    chunks       INTEGER NOT NULL,
    imported_at  INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Fewer b-trees on a turn's path (every one it touches is a page written per commit): finished turns
  -- are pruned by an hourly scan instead of an index each turn would update, and a session is keyed by
  -- its conversation alone (no rowid table + unique index pair).
  DROP INDEX inbox_done_at;
  CREATE TABLE sessions_new (
    conversation TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO sessions_new (conversation, started_at, updated_at) SELECT conversation, started_at, updated_at FROM sessions;
  DROP TABLE sessions;
  ALTER TABLE sessions_new RENAME TO sessions;
  `,
  `
  -- History without an index by conversation (every turn rewrote a leaf of it): each entry points at the
  -- one before it in its conversation, the session at its first live entry and its last (see sessions.ts).
  ALTER TABLE messages ADD COLUMN prev INTEGER;
  ALTER TABLE sessions ADD COLUMN first_message INTEGER;
  ALTER TABLE sessions ADD COLUMN last_message INTEGER;
  ALTER TABLE sessions ADD COLUMN entries INTEGER NOT NULL DEFAULT 0;
  UPDATE messages SET prev = (SELECT max(m.id) FROM messages m WHERE m.conversation = messages.conversation AND m.id < messages.id);
  UPDATE sessions SET
    first_message = (SELECT min(id) FROM messages m WHERE m.conversation = sessions.conversation AND m.at >= sessions.started_at),
    last_message  = (SELECT max(id) FROM messages m WHERE m.conversation = sessions.conversation);
  UPDATE sessions SET entries = (SELECT count(*) FROM messages m WHERE m.conversation = sessions.conversation AND m.id >= sessions.first_message)
    WHERE first_message IS NOT NULL;
  DROP INDEX messages_conversation;
  `,
];
