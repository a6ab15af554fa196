-- The event log: one dense, gap-free, hash-chained log per project.
-- Never edit this file after it has landed; add a new numbered file instead.

-- One row per project: the head of its log. Its row lock serialises that project's writers,
-- gives the next position and the previous hash; projects never contend.
CREATE TABLE log_heads (
    project_id  text        PRIMARY KEY,
    position    bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    hash        bytea       NOT NULL,
    -- recorded_at of the head event: appends never go back in time, so "as of a date" is a
    -- position prefix of the log.
    last_recorded_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    project_id      text        NOT NULL,
    position        bigint      NOT NULL CHECK (position >= 1),
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_on     date,
    recorded_at     timestamptz NOT NULL,
    -- `json`, not `jsonb`: it keeps the exact canonical bytes that were hashed, and reads back
    -- and decodes ~1.9x faster (see docs/architecture.md).
    data            json        NOT NULL,
    metadata        json        NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    -- the writing transaction, for forensics
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (project_id, position),
    UNIQUE (project_id, event_id),
    UNIQUE (project_id, stream_id, stream_version)
);

-- Current version of every stream, maintained in the append transaction.
CREATE TABLE streams (
    project_id  text    NOT NULL,
    stream_id   text    NOT NULL,
    version     integer NOT NULL,
    PRIMARY KEY (project_id, stream_id)
);

-- A client's idempotency key -> the fingerprint of its request and the original answer.
CREATE TABLE idempotency_keys (
    project_id   text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  bytea       NOT NULL,
    result       json        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, key)
);

-- The log is immutable whoever the client is: corrections are new events.
CREATE FUNCTION events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_no_update_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

-- Lock a project's head, then look up (each with a fresh snapshot, taken after the lock was
-- granted) the versions of the streams, the event ids and the idempotency keys a group of appends
-- touches. One round trip; a plain SELECT ... FOR UPDATE with sub-selects would read them with
-- the snapshot taken before waiting for the lock and miss the previous writer's rows.
CREATE FUNCTION lock_head_for_append(
    p_project text, p_streams text[], p_event_ids uuid[], p_keys text[],
    OUT head_position bigint, OUT head_hash bytea, OUT head_recorded_at timestamptz,
    OUT stream_versions json, OUT known_events json, OUT known_keys json)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT h.position, h.hash, h.last_recorded_at
      INTO head_position, head_hash, head_recorded_at
      FROM log_heads h WHERE h.project_id = p_project FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT coalesce(json_object_agg(s.stream_id, s.version), '{}')
      INTO stream_versions
      FROM streams s WHERE s.project_id = p_project AND s.stream_id = ANY (p_streams);
    SELECT coalesce(json_agg(json_build_array(e.event_id, e.position, e.stream_id,
                                              e.stream_version, e.type, e.data::text)), '[]')
      INTO known_events
      FROM events e WHERE e.project_id = p_project AND e.event_id = ANY (p_event_ids);
    SELECT coalesce(json_agg(json_build_array(k.key, encode(k.fingerprint, 'hex'), k.result)), '[]')
      INTO known_keys
      FROM idempotency_keys k WHERE k.project_id = p_project AND k.key = ANY (p_keys);
END;
$$;
