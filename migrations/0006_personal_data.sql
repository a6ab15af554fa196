-- Personal data that can be erased from an immutable log, and the ledger of spreadsheet imports.
-- Never edit this file after it has landed; add a new numbered file instead.

-- One AES-256 key per participant (crypto-shredding). The log keeps only the pseudonymous id,
-- the coarse KPI attributes and the AES-GCM ciphertext of {name, email, job_title}; this row is
-- the one place that can read it. Erasure sets `key` to NULL: every copy of the ciphertext (log,
-- exports, backups of `events`) becomes unreadable, while the log and its hash chain stay intact.
-- The row itself stays as a tombstone (no personal data in it) so an erased id is never issued
-- a new key and a retried erasure can tell it is finished.
CREATE TABLE participant_keys (
    project_id            text        NOT NULL,
    participant_id        text        NOT NULL,
    -- named in ParticipantRegistered.pii.key_id and ParticipantErased.key_id
    key_id                text        NOT NULL,
    key                   bytea       CHECK (key IS NULL OR length(key) = 32),
    created_at            timestamptz NOT NULL DEFAULT now(),
    -- Set first when an erasure starts, so a retry records the same ParticipantErased (same
    -- request_date) and every view treats the person as erased even before the key is gone.
    erasure_requested_on  date,
    destroyed_at          timestamptz,
    PRIMARY KEY (project_id, participant_id),
    UNIQUE (project_id, key_id),
    CHECK ((key IS NULL) = (destroyed_at IS NOT NULL)),
    CHECK (destroyed_at IS NULL OR erasure_requested_on IS NOT NULL)
);

-- A destroyed key stays destroyed: nothing may put key material back into an erased row.
CREATE FUNCTION participant_keys_stay_destroyed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.destroyed_at IS NOT NULL AND (NEW.key IS NOT NULL OR NEW.destroyed_at IS NULL) THEN
        RAISE EXCEPTION 'participant key % was destroyed and cannot be restored', OLD.key_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER participant_keys_no_restore
    BEFORE UPDATE ON participant_keys
    FOR EACH ROW EXECUTE FUNCTION participant_keys_stay_destroyed();

-- Spreadsheet imports: which file (by the sha256 of its bytes) put which events in the log.
-- A row is written 'pending' with the event ids it will append before the append, and 'done'
-- with the positions after it, so a retry after a crash appends exactly the same events (or
-- finds them there) and the same file imported again is answered from here without re-reading it.
CREATE TABLE imports (
    project_id   text        NOT NULL,
    import_id    text        NOT NULL CHECK (import_id ~ '^[0-9a-f]{64}$'),
    kind         text        NOT NULL CHECK (kind IN ('training-attendance', 'sme-survey')),
    file_name    text,
    data_rows    integer     NOT NULL CHECK (data_rows >= 0),
    event_ids    uuid[]      NOT NULL,
    status       text        NOT NULL CHECK (status IN ('pending', 'done')),
    first_position bigint,
    last_position  bigint,
    actor        text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (project_id, import_id),
    CHECK ((status = 'done') = (finished_at IS NOT NULL))
);
