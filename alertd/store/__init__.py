"""Where alert state, transitions and series history live between ticks and across restarts.

`base` holds the `Store` role and the `Commit` it accepts; `memory` and `sqlite` are its
implementations, held to the same behaviour by one contract test suite. `sqlite_file` and
`state_lock` keep the SQLite file sound on disk, with one daemon on it.
"""
