-- Rows rewritten by every append or batch stay on their page: heap-only (HOT) updates add no
-- index entries and their dead versions are pruned the next time the page is read, so these
-- tables do not bloat between vacuums (or at all where autovacuum is off, as on the development
-- machine). Before this, an update of a stream on a full page went to another page: a new index
-- entry and a dead tuple that only VACUUM could reclaim (198 of 244 updates after `demo`).
-- Half of each page is left free, so every stream on a page can take its new version in one
-- large append (an import) before the old ones are pruned. None of the updated columns is
-- indexed (stream version, head position/hash/time, checkpoint position/version/time), which
-- HOT needs besides room on the page.
-- Pages written before this keep their old fill until VACUUM FULL (docs/operations.md).
-- Never edit this file after it has landed; add a new numbered file instead.

ALTER TABLE streams SET (fillfactor = 50);
ALTER TABLE log_heads SET (fillfactor = 50);
ALTER TABLE projection_checkpoints SET (fillfactor = 50);
