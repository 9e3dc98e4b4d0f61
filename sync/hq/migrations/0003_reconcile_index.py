"""Reconciliation (`sync.hq.reconcile`): each central event carries the hash of its content,
computed by the database, so that a day's digest is one pass over 32-byte values.

Hashing a million events' payloads at query time takes PostgreSQL 6 to 9 seconds per side on a
2-core machine (jsonb to text and SHA-256 per row); stored, the digests of a million events take
about 1.5 seconds per side (docs/benchmarks.md, "Sync"). The column is GENERATED, so
nobody (not the application, not raw SQL, not a disabled trigger) can make it disagree with the
row: an altered payload changes its hash, and reconciliation sees it.

`public.sync_event_hash` is also used by each mission's outbox (`sync` 0008), so both sides hash
the same bytes: SHA-256 of the UTF-8 text
`seq|topic|aggregate_type|version|actor_id|epoch seconds (6 decimals)|len(aggregate_id)|aggregate_id|payload`,
with jsonb's own normalised text for the payload. It is created here, once, in public (mission
schemas are migrated in parallel, and they find it through their search_path and the qualified
name). IMMUTABLE is true in fact though `convert_to` and `extract(epoch from timestamptz)` are
declared STABLE: the epoch of an instant does not depend on the session's time zone, and the
target encoding is named.
"""

from django.db import migrations

HASH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION public.sync_event_hash(
    seq bigint, topic text, aggregate_type text, aggregate_id text, version integer,
    actor_id bigint, occurred_at timestamptz, payload jsonb
) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN sha256(convert_to(
        seq::text || '|' || topic || '|' || aggregate_type || '|' || version::text || '|'
        || coalesce(actor_id::text, '') || '|' || extract(epoch FROM occurred_at)::text || '|'
        || length(aggregate_id)::text || '|' || aggregate_id || '|' || payload::text,
        'UTF8'
    ));
END;
$$;
"""

FORWARD = (
    HASH_FUNCTION
    + """
ALTER TABLE sync_hq_centralevent ADD COLUMN content_hash bytea GENERATED ALWAYS AS (
    public.sync_event_hash(seq, topic, aggregate_type, aggregate_id, version, actor_id,
                           occurred_at, payload)
) STORED;
"""
)

BACKWARD = """
ALTER TABLE sync_hq_centralevent DROP COLUMN IF EXISTS content_hash;
DROP FUNCTION IF EXISTS public.sync_event_hash(bigint, text, text, text, integer, bigint,
                                               timestamptz, jsonb);
"""


class Migration(migrations.Migration):
    dependencies = [("sync_hq", "0002_central_log_guards")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
