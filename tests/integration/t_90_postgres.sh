#!/usr/bin/env bash
# PostgreSQL from Debian's package on the emulated share, the way the official
# image does it: root creates the data directory, chown -R postgres and
# chmod 700, then the server runs as postgres. initdb, start (unix socket in a
# local directory, no TCP), create and fill a table, stop, start, read back,
# pg_dump. Without the library the same steps fail, as on vboxsf.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services.sh"
need_fuse
need_lib
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || skip_all "needs PostgreSQL (Debian package postgresql)"
getent passwd postgres >/dev/null || skip_all "needs the postgres user"
need_file "$REFUSE"

tmp_dir SOCK
chown postgres:postgres "$SOCK"
PORT=5432
PGOPTS="-c listen_addresses='' -c unix_socket_directories=$SOCK -p $PORT -c fsync=off"
psql_q() { svc_lib postgres "$PGBIN/psql" -X -h "$SOCK" -p "$PORT" -U postgres -d postgres -Atc "$1"; }

for MODE in ignore deny; do
    share_setup "$MODE"
    T="[$MODE]"
    PGDATA=$MNT/pgdata

    # --- without the library: the image's steps, then initdb as postgres
    mkdir "$PGDATA"
    if [ "$MODE" = deny ]; then
        expect_grep "$T without: root's chown -R postgres is refused" 'Operation not permitted' \
            chown -R postgres:postgres "$PGDATA"
    else
        chown -R postgres:postgres "$PGDATA"; chmod 700 "$PGDATA"
        expect_eq "$T without: chown -R and chmod 700 change nothing" \
            "$(stat -c '%u:%g %a' "$PGDATA")" "$SHARE_UID:$SHARE_GID 777"
    fi
    expect_grep "$T without: initdb fails on the data directory" \
        'could not change permissions of directory|has wrong ownership|has invalid permissions' \
        svc_plain postgres "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync
    rm -rf "${PGDATA:?}"

    # --- with the library
    mkdir "$PGDATA"
    check "$T chown -R postgres (root, library)" svc_root_lib chown -R postgres:postgres "$PGDATA"
    check "$T chmod 700 (root, library)" svc_root_lib chmod 700 "$PGDATA"
    expect_out "$T the data directory shows postgres 700" "postgres 700" \
        svc_root_lib stat -c '%U %a' "$PGDATA"
    on_exit "svc_lib postgres '$PGBIN/pg_ctl' -D '$PGDATA' -m immediate -w stop"
    check "$T initdb as postgres ($(svc_dropper))" \
        svc_lib postgres "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync
    expect_out "$T PG_VERSION is on the share" "$(basename "$(dirname "$PGBIN")")" cat "$SRC/pgdata/PG_VERSION"
    check "$T start" svc_lib postgres "$PGBIN/pg_ctl" -D "$PGDATA" -o "$PGOPTS" -l "$SOCK/log.$MODE" -w -t 30 start
    check "$T create and fill a table" psql_q \
        "create table visits(n int primary key, who text); insert into visits select g, 'v' || g from generate_series(1, 1000) g;"
    check "$T stop" svc_lib postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop

    # the data directory the library created, seen by a server without it
    expect_grep "$T without: postgres refuses the data directory" 'has wrong ownership|has invalid permissions' \
        svc_plain postgres timeout 30 "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses= \
        -c unix_socket_directories="$SOCK" -p "$PORT"

    check "$T start again" svc_lib postgres "$PGBIN/pg_ctl" -D "$PGDATA" -o "$PGOPTS" -l "$SOCK/log.$MODE" -w -t 30 start
    expect_out "$T read back after the restart" "1000 500500 1000" \
        psql_q "select count(*) || ' ' || sum(n) || ' ' || max(n) from visits where who = 'v' || n"
    check "$T pg_dump to the share" svc_lib postgres "$PGBIN/pg_dump" -h "$SOCK" -p "$PORT" -U postgres \
        -t visits -f "$MNT/visits.sql" postgres
    expect_out "$T the dump has the table and its rows" "1 1000" sh -c \
        "grep -c '^CREATE TABLE public.visits' '$SRC/visits.sql' | tr '\\n' ' '; grep -cE '^[0-9]+$(printf '\t')v[0-9]+\$' '$SRC/visits.sql'"
    check "$T final stop" svc_lib postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop
    if grep -q 'FATAL\|PANIC' "$SOCK/log.$MODE"; then
        fail "$T server log has no FATAL/PANIC" "$(grep -m3 'FATAL\|PANIC' "$SOCK/log.$MODE" | tr '\n' ' ')"
    else
        ok "$T server log has no FATAL/PANIC"
    fi
done
