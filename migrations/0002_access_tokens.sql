-- Access tokens: who may call the API, in which role, on which projects.
-- Never edit this file after it has landed; add a new numbered file instead.

CREATE TABLE access_tokens (
    token_id     uuid        PRIMARY KEY,
    -- Written into every event's metadata as the actor, so it must name one token for good:
    -- unique even after a revoke, never reused.
    name         text        NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('admin', 'staff', 'funder', 'auditor')),
    -- The projects the token may touch; admin tokens are global and list none (the CHECK below).
    -- An array rather than a join table keeps authenticating a request to one row read; the
    -- token store checks the projects exist when it creates a token.
    projects     text[]      NOT NULL DEFAULT '{}',
    -- sha256 of the secret, never the secret. A slow password hash (bcrypt, argon2) protects
    -- low-entropy secrets people choose; these are 32 random bytes from `secrets`, so brute force
    -- is hopeless either way and a fast hash lets every request be checked with one index probe.
    secret_hash  bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Revoked tokens stay, so the names in old events still resolve to a role and a date.
    revoked_at   timestamptz,
    CHECK ((role = 'admin') = (cardinality(projects) = 0))
);
