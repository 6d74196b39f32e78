#!/bin/sh
# SPDX-License-Identifier: MIT
# Provisioning for the Vagrantfile: build and install libvboxfix, then run
# PostgreSQL with its data directory on the vboxsf share /srv/share.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential uthash-dev postgresql

# build from a copy (building on the share itself works too, but is slower)
rm -rf /tmp/vboxfix-build && cp -r /vboxfix /tmp/vboxfix-build
make -C /tmp/vboxfix-build install PREFIX=/usr B=/tmp/vboxfix-build/out
vboxfix doctor --user postgres /srv/share || true   # what the share refuses

# Debian's own cluster stays on local disk; ours goes on the share
systemctl disable --now postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA=/srv/share/pgdata
if [ ! -e "$PGDATA/PG_VERSION" ]; then
    # what the official images do: root creates, chowns and chmods, then
    # initdb runs as postgres. Without the library: "could not change
    # permissions of directory" / "data directory ... has wrong ownership".
    mkdir -p "$PGDATA"
    vboxfix exec -- chown -R postgres:postgres "$PGDATA"
    vboxfix exec -- chmod 700 "$PGDATA"
    vboxfix exec --user postgres -- "$PGBIN/initdb" -D "$PGDATA" -A peer -U postgres
fi

cat >/etc/systemd/system/vboxfix-postgres.service <<UNIT
[Unit]
Description=PostgreSQL with its data directory on the vboxsf share (libvboxfix)
After=network.target

[Service]
User=postgres
Environment=LD_PRELOAD=/usr/lib/libvboxfix.so
RuntimeDirectory=vboxfix-pg
ExecStart=$PGBIN/postgres -D $PGDATA -c listen_addresses=localhost -c unix_socket_directories=/run/vboxfix-pg
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=mixed
KillSignal=SIGINT
TimeoutStopSec=60

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable vboxfix-postgres
systemctl restart vboxfix-postgres
for i in $(seq 30); do
    runuser -u postgres -- psql -h /run/vboxfix-pg -Atc 'select 1' >/dev/null 2>&1 && break
    sleep 1
done
runuser -u postgres -- psql -h /run/vboxfix-pg -qc \
    "create table if not exists visits(at timestamptz default now()); insert into visits default values;"
runuser -u postgres -- psql -h /run/vboxfix-pg -Atc \
    "select count(*) || ' visits recorded in ' || current_setting('data_directory') from visits"
