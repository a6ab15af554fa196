-- Read models partitioned by project: a rebuild builds a project's rows in plain new tables
-- (COPY, no index to maintain), indexes them in one sort each, and swaps them in by attaching
-- them as that project's partitions (projections/partitions.py). Projects never rebuilt live in
-- the DEFAULT partition, as all rows did before. Queries and the live runners are unchanged:
-- they name the parent tables, and project_id = $1 prunes to one partition.
-- Never edit this file after it has landed; add a new numbered file instead.

DO $$
DECLARE
    read_model text;
    index_name text;
BEGIN
    FOREACH read_model IN ARRAY ARRAY[
        'organisation_sources', 'participant_sources', 'exchange_sources', 'activity_sources',
        'survey_sources', 'organisations', 'organisation_size_classes', 'participants',
        'exchanges', 'activities', 'activity_attendance', 'survey_responses'
    ] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', read_model, read_model || '_0006');
        -- Free the index names (the new tables' indexes are named from their columns).
        FOR index_name IN
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = to_regclass(quote_ident(read_model || '_0006'))
        LOOP
            EXECUTE format('ALTER INDEX %I RENAME TO %I', index_name, index_name || '_0006');
        END LOOP;
        EXECUTE format(
            'CREATE TABLE %I (LIKE %I INCLUDING ALL) PARTITION BY LIST (project_id)',
            read_model, read_model || '_0006'
        );
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', read_model || '_default', read_model);
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', read_model, read_model || '_0006');
        EXECUTE format('DROP TABLE %I', read_model || '_0006');
    END LOOP;
END
$$;
