-- Two holes an outside check found in the log's guarantees.
-- Never edit this file after it has landed; add a new numbered file instead.
--
-- 1. The immutability triggers were ordinary (ENABLE): a superuser session with
--    session_replication_role = replica (what logical replication and some restore tools use)
--    skipped them and could rewrite or delete events and published snapshots without any DDL.
--    ENABLE ALWAYS makes them fire in every session; only an explicit DISABLE TRIGGER (DDL,
--    visible in the server's log) turns them off.
ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_delete;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_truncate;
ALTER TABLE snapshots ENABLE ALWAYS TRIGGER snapshots_no_update_delete;
ALTER TABLE snapshots ENABLE ALWAYS TRIGGER snapshots_no_truncate;
ALTER TABLE participant_keys ENABLE ALWAYS TRIGGER participant_keys_no_restore;

-- 2. A retried event is recognised by its event_id and must be the very same event: the lookup
--    compared stream, type and data only, so the same id sent again with another occurred_on or
--    another partner was answered as a retry (201, the original position) instead of a conflict.
--    The lookup now also returns each known event's occurred_on and envelope partner.
--    Same signature (its OUT json carries two more array elements).
CREATE OR REPLACE FUNCTION lock_head_for_append(
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
      FROM unnest(p_streams) AS wanted(stream_id)
     CROSS JOIN LATERAL (SELECT s.stream_id, s.version FROM streams s
                          WHERE s.project_id = p_project AND s.stream_id = wanted.stream_id
                         OFFSET 0) AS s;
    known_events := '[]';
    IF cardinality(p_event_ids) > 0 THEN
        SELECT coalesce(json_agg(json_build_array(e.event_id, e.position, e.stream_id,
                                                  e.stream_version, e.type, e.data::text,
                                                  e.occurred_on,
                                                  e.metadata->>'partner_org_id')), '[]')
          INTO known_events
          FROM unnest(p_event_ids) AS wanted(event_id)
         CROSS JOIN LATERAL (SELECT e.event_id, e.position, e.stream_id, e.stream_version, e.type,
                                    e.data, e.occurred_on, e.metadata
                               FROM events e
                              WHERE e.project_id = p_project AND e.event_id = wanted.event_id
                             OFFSET 0) AS e;
    END IF;
    known_keys := '[]';
    IF cardinality(p_keys) > 0 THEN
        SELECT coalesce(json_agg(json_build_array(k.key, encode(k.fingerprint, 'hex'), k.result)), '[]')
          INTO known_keys
          FROM unnest(p_keys) AS wanted(key)
         CROSS JOIN LATERAL (SELECT k.key, k.fingerprint, k.result FROM idempotency_keys k
                              WHERE k.project_id = p_project AND k.key = wanted.key
                             OFFSET 0) AS k;
    END IF;
END;
$$;
