"""PostgreSQL: the audit chain is extended inside the database, at commit.

Every audited write serialises on the chain: from taking the chain lock to committing, no
other writer may append. With the lock, the head read, the insert and the commit sent one
by one, that stretch lasted as long as four round trips and three wake-ups of a busy Python
thread, and it capped the whole system's writes. This function takes the lock, reads the
head, and inserts the transaction's entries with their hashes, and the caller sends it in
the same message as COMMIT, so the lock is held only while the server works.

The hash is the one Python computes (``andon.core.audit.chain_hash``): SHA-256 of the
previous hash followed by the entry's canonical JSON. Python sends each entry's canonical
JSON without its number (``body``); "seq" is the last key in sorted order, so the canonical
text is the body with ``,"seq":<n>`` put before its closing brace. The entries travel as one
JSON array (one string to quote, where arrays of values would need escaping item by item).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The advisory lock key every writer of the chain has taken since 0001 (before 0005, from
# Python); any constant works as long as every writer uses the same one.
CHAIN_LOCK = 0x616E646F6E

APPEND = """
CREATE FUNCTION andon_audit_append(entries json) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    head_seq integer;
    head_hash text;
    entry_hash text;
    e json;
BEGIN
    PERFORM pg_advisory_xact_lock(CHAIN_LOCK);
    -- A new snapshot per statement (READ COMMITTED, a volatile function): taken after the
    -- lock, it sees the entries of the writer that held it last.
    SELECT seq, hash INTO head_seq, head_hash FROM audit_entries ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR e IN SELECT value FROM json_array_elements(entries) LOOP
        head_seq := head_seq + 1;
        entry_hash := encode(
            sha256(convert_to(
                head_hash || left(e->>'body', -1) || ',"seq":' || head_seq || '}', 'UTF8'
            )),
            'hex'
        );
        INSERT INTO audit_entries (
            seq, occurred_at, actor_id, actor_name, entity_type, entity_id, action, changes,
            reason, request_id, prev_hash, hash
        ) VALUES (
            head_seq, (e->>'occurred_at')::timestamp, (e->>'actor_id')::integer,
            e->>'actor_name', e->>'entity_type', e->>'entity_id', e->>'action', e->'changes',
            e->>'reason', e->>'request_id', head_hash, entry_hash
        );
        head_hash := entry_hash;
    END LOOP;
    RETURN head_seq;
END $$
""".replace("CHAIN_LOCK", str(CHAIN_LOCK))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION andon_audit_append(json)")
