"""Where alert state, transitions and series history live between ticks and across restarts.

`base` holds the store's roles (`AlertStates`, `Notifications`, `Silences`, and `Store`,
all of them) and the `Commit` they accept; `memory`, `sqlite` and `postgres` implement
every role, held to the same behaviour by one contract test suite per role
(tests/contract/store). `opening` picks the store the settings name. `sqlite_file` and
`state_lock` keep the SQLite file sound on disk, with one daemon on it; `postgres_guard`
keeps one daemon on a PostgreSQL database.
"""
