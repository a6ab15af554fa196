-- When a rebuild from zero last made progress, for the processes not running it. A rebuild
-- commits nothing until its swap (minutes at a million events), so its checkpoint stands still
-- meanwhile: every other process saw the projection behind without progress and reported it
-- stalled (/health 503, replicas marked unhealthy for the whole rebuild). The rebuilding runner
-- now writes this every few seconds, in a transaction of its own, and clears it when the rebuild
-- ends; status trusts it while it is younger than stall_after (projections/runner.py).
-- Nullable, no default and not indexed: adding it rewrites nothing, and writing it keeps the
-- row's updates heap-only (0009).
-- Never edit this file after it has landed; add a new numbered file instead.

ALTER TABLE projection_checkpoints ADD COLUMN rebuild_progress_at timestamptz;
