r"""Least privilege in a team's PostgreSQL store: the annotator role.

An annotator's login role (named as they are named in the store, e.g. ``ana``) joins
the group role ``rlhf_annotator``, which may read queries, segments and answers, claim
queries (leases), add segments (fresh clips, demonstrations) and queries (swapped
repeats), and add or take back (undo) only *its own* answers, ratings and
demonstrations: row-level security ties a row's annotator to ``current_user``. It cannot
change anyone's answers, delete another's, or touch the schema. The store's owner (the
trainer, or an administrator) keeps full rights; row-level security does not bind the
owner. Run the statements as the owner, once the store exists (``python -m
feedback.store.roles`` prints them), and again after an upgrade of the store's schema
(new tables come without grants). The tables must be in a schema on the annotators'
``search_path`` (``public`` by default)::

    CREATE ROLE ana LOGIN IN ROLE rlhf_annotator;   -- then a password, via \password
"""

from __future__ import annotations

import sys

GROUP = "rlhf_annotator"
READ = ("meta", "segments", "annotators", "queries", "labels", "ratings", "demonstrations",
        "leases")
MINE = "(SELECT id FROM annotators WHERE name = current_user)"  # the annotator's own id


def annotator_role_sql(group: str = GROUP) -> list[str]:
    """The statements that create ``group`` (if missing) and grant it an annotator's rights."""
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
        f"CREATE ROLE {group} NOLOGIN; END IF; END $$",
        f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {group}', "
        f"current_schema()); END $$",  # the schema the store's tables are in
        f"GRANT SELECT ON {', '.join(READ)} TO {group}",
        f"GRANT INSERT ON segments, queries, annotators, labels, ratings, demonstrations "
        f"TO {group}",
        f"GRANT INSERT, DELETE ON leases TO {group}",
        f"GRANT DELETE ON labels, ratings TO {group}",
    ]
    for table in ("annotators", "labels", "ratings", "demonstrations"):
        statements.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        statements.append(f"DROP POLICY IF EXISTS {group}_read ON {table}")
        statements.append(f"CREATE POLICY {group}_read ON {table} FOR SELECT TO {group} "
                          "USING (true)")
    statements += [
        f"DROP POLICY IF EXISTS {group}_own ON annotators",
        f"CREATE POLICY {group}_own ON annotators FOR INSERT TO {group} "
        "WITH CHECK (name = current_user)",
    ]
    for table in ("labels", "ratings", "demonstrations"):
        statements += [
            f"DROP POLICY IF EXISTS {group}_add_own ON {table}",
            f"CREATE POLICY {group}_add_own ON {table} FOR INSERT TO {group} "
            f"WITH CHECK (annotator_id = {MINE})",
        ]
    for table in ("labels", "ratings"):
        statements += [
            f"DROP POLICY IF EXISTS {group}_undo_own ON {table}",
            f"CREATE POLICY {group}_undo_own ON {table} FOR DELETE TO {group} "
            f"USING (annotator_id = {MINE})",
        ]
    return statements


if __name__ == "__main__":
    sys.stdout.write("".join(statement + ";\n" for statement in annotator_role_sql()))
