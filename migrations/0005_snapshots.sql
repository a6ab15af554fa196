-- Published snapshots: what a funder received at a reporting milestone, kept byte for byte.
-- Never edit this file after it has landed; add a new numbered file instead.
--
-- Publishing is two steps that a crash may separate: (1) the document is stored here, under a
-- per-snapshot advisory lock, with ON CONFLICT DO NOTHING; (2) its SnapshotPublished
-- event is appended to the log with a deterministic event id and idempotency key. A snapshot
-- exists for readers only once its event is in the log (readers join on event_id), and a retry
-- of either step completes the pair exactly once (indicators/snapshot_publisher.py).
CREATE TABLE snapshots (
    project_id      text        NOT NULL,
    -- "<project>.<kind>.<period>" (e.g. "demo.interim.RP1") or "<project>.adhoc.<position>":
    -- deterministic, so a second publisher of the same milestone finds the first one's row.
    snapshot_id     text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('interim', 'final', 'periodic', 'adhoc')),
    -- A reporting period ("RP1") or a calendar period ("2025-Q1"); none for ad-hoc snapshots.
    period_id       text,
    as_of_position  bigint      NOT NULL CHECK (as_of_position >= 1),
    head_hash       bytea       NOT NULL CHECK (length(head_hash) = 32),
    content_hash    bytea       NOT NULL CHECK (length(content_hash) = 32),
    signature       text        NOT NULL,
    -- `json`, not `jsonb`: the canonical bytes that were hashed and signed, exactly.
    document        json        NOT NULL,
    -- The id of the SnapshotPublished event that makes the snapshot visible.
    event_id        uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Keyed by project first, like every table, so it distributes by project_id on Citus; the
    -- id embeds the project, so it is unique across projects too.
    PRIMARY KEY (project_id, snapshot_id),
    -- One interim/final/periodic snapshot per period (NULL periods of ad-hoc ones never clash).
    UNIQUE (project_id, kind, period_id)
);

-- A published document never changes: a new figure is a new snapshot.
CREATE FUNCTION snapshots_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published snapshots are immutable: % on snapshots is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER snapshots_no_update_delete
    BEFORE UPDATE OR DELETE ON snapshots
    FOR EACH ROW EXECUTE FUNCTION snapshots_are_immutable();

CREATE TRIGGER snapshots_no_truncate
    BEFORE TRUNCATE ON snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION snapshots_are_immutable();
