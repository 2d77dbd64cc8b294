from jemput.shared.db.migrations import run_migrations

run_migrations()
