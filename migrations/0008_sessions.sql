-- Dashboard sessions: a browser's sign-in, kept here rather than in the cookie, so signing out
-- ends it for good and the API token never travels in a cookie.
-- Never edit this file after it has landed; add a new numbered file instead.

CREATE TABLE sessions (
    -- sha256 of the session secret the cookie carries, never the secret (as for access_tokens:
    -- 32 random bytes, so a fast hash and one primary-key probe per request).
    secret_hash  bytea       PRIMARY KEY CHECK (length(secret_hash) = 32),
    -- The token signed in with; a revoked token ends its sessions, as the lookup joins it.
    token_id     uuid        NOT NULL REFERENCES access_tokens (token_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- Set by signing out; ended sessions stay, like revoked tokens, to show when they ended.
    ended_at     timestamptz,
    CHECK (expires_at > created_at)
);
