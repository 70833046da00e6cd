-- The question log. No column holds a user id, name or nickname: a vote's voter is an
-- HMAC-SHA256 of (user, entry) under the key in `secrets`.
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    guild INTEGER,
    kind TEXT NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    knowledge_version TEXT NOT NULL
);
CREATE INDEX entries_at ON entries (at_ms);
CREATE INDEX entries_guild ON entries (guild);

CREATE TABLE passages (
    entry_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    passage TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (entry_id, rank)
);

CREATE TABLE votes (
    entry_id INTEGER NOT NULL,
    voter TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (entry_id, voter)
);

-- Gap status, kept per member question: a new phrasing starts open.
CREATE TABLE gap_marks (
    entry_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);

CREATE TABLE opt_outs (
    guild INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL
);

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
