#!/bin/bash
# tests/demo/demo.sh start|stop: the `make demo` quick start.
#
# start: installs missing packages, builds, installs pgchange with a private
# copy of the server under ./.pgchange/install, starts a throwaway cluster
# in ./.pgchange/data listening only on a unix socket in ./.pgchange/sock
# (as an unprivileged user: PostgreSQL refuses root), and runs the main job
# through the pgchange command: ping and init, then a deploy of the example
# changelog in examples/ (status, deploy, history, lock status, verify),
# what validation makes of a cosmetic and of a real edit to an applied
# changeset, verification of a failing data expectation, and a tag, one
# more changeset and a rollback to the tag.  The cluster stays up; `make
# demo-stop` stops it.  Run start
# again at any time: it rebuilds and redeploys into a fresh database.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$SRC/.pgchange"
PORT=${PGCHANGE_DEMO_PORT:-54329}
SOCK="$DIR/sock"
DATA="$DIR/data"
DB=demo

# run a command as the cluster's owner
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$OWNER" -- env PATH="$PGBIN:$PATH" "$@"
	else
		env PATH="$PGBIN:$PATH" "$@"
	fi
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# show a command that must fail with exit code $1
show_fails() {
	local want=$1 rc=0
	shift
	show "$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "unexpected exit code $rc (expected $want)" >&2
		exit 1
	fi
	echo "(exit code $rc, as expected)"
}

setup_paths() {
	OWNER=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		OWNER=${PGCHANGE_TEST_USER:-postgres}
		id "$OWNER" >/dev/null 2>&1 || useradd --system --no-create-home "$OWNER"
	fi
	PGBIN="$DIR/install$(pg_config --bindir)"
}

stop() {
	setup_paths
	if [ -f "$DATA/postmaster.pid" ]; then
		as_owner pg_ctl -D "$DATA" -m fast -w stop >/dev/null
		echo "demo cluster stopped (data kept in $DATA; rm -rf .pgchange to remove it)"
	else
		echo "no demo cluster is running"
	fi
}

# Deploy examples/ (see examples/README.md) as project "shop", then show
# what validation makes of edits to a copy of it under .pgchange/example.
deploy_example() {
	local conn=$1
	local copy=.pgchange/example
	local file=$copy/db/001_tables.sql

	# relative paths keep the commands shown short
	cd "$SRC"

	step "pgchange status: what a deploy of examples/ would run"
	show pgchange -d "$conn" -p shop status -c examples/changelog.xml

	step "pgchange deploy: each changeset in its own transaction, dev seed data included"
	show pgchange -d "$conn" -p shop deploy -c examples/changelog.xml --contexts dev

	step "pgchange history: what ran, newest first"
	show pgchange -d "$conn" -p shop history

	step "pgchange lock status: the deploy released the project's lock"
	show pgchange -d "$conn" -p shop lock status

	step "pgchange verify: the changesets' verify SQL and the pgTAP files of examples/verify/"
	show pgchange -d "$conn" -p shop verify -c examples/changelog.xml

	step "validation: editing a comment of an applied changeset is not a change"
	rm -rf "$copy"
	cp -R examples "$copy"
	sed -i 's/-- the login$/-- the login: one account per address/' "$file"
	show diff examples/db/001_tables.sql "$file" || true
	show pgchange -d "$conn" -p shop validate -c "$copy/changelog.xml"

	step "validation: editing a statement of an applied changeset is refused"
	cp examples/db/001_tables.sql "$file"
	sed -i 's/name        text NOT NULL,/name        text,/' "$file"
	show diff examples/db/001_tables.sql "$file" || true
	show_fails 4 pgchange -d "$conn" -p shop validate -c "$copy/changelog.xml"

	step "restore the copy: validation passes again"
	cp examples/db/001_tables.sql "$file"
	show pgchange -d "$conn" -p shop validate -c "$copy/changelog.xml"

	step "verification: a data expectation that does not hold exits 6, naming the test"
	cat >"$copy/verify/03_counts.sql" <<-'EOF'
		SELECT plan(1);
		SELECT is((SELECT count(*) FROM shop.customer), 3::bigint, 'three customers are seeded');
	EOF
	show cat "$copy/verify/03_counts.sql"
	show_fails 6 pgchange -d "$conn" -p shop -q verify -c "$copy/changelog.xml"
}

# Tag what is deployed, deploy one more changeset (added to the copy of
# examples/), and roll back to the tag with the rollback stored in the
# registry; history shows the deploys and the rollback.
rollback_example() {
	local conn=$1
	local copy=.pgchange/example

	cd "$SRC"
	step "pgchange tag: name what is deployed"
	show pgchange -d "$conn" -p shop tag release-1

	step "one more changeset, with its rollback"
	cat >"$copy/db/006_order_notes.sql" <<-'EOF'
		--liquibase formatted sql

		--changeset erin:order-notes
		ALTER TABLE ${schema}.orders ADD COLUMN note text;
		--rollback ALTER TABLE ${schema}.orders DROP COLUMN note;
	EOF
	sed -i 's|    <include file="db/005_seed_dev.sql"/>|&\n    <include file="db/006_order_notes.sql"/>|' "$copy/changelog.xml"
	show cat "$copy/db/006_order_notes.sql"
	show pgchange -d "$conn" -p shop deploy -c "$copy/changelog.xml" --contexts dev

	step "pgchange rollback --dry-run: what returning to the tag would run"
	show pgchange -d "$conn" -p shop rollback --to-tag release-1 --dry-run

	step "pgchange rollback: back to the tag, with the SQL stored when it was deployed"
	show pgchange -d "$conn" -p shop rollback --to-tag release-1

	step "pgchange history --deployments: the deploys and the rollback"
	show pgchange -d "$conn" -p shop history --deployments
}

# Policies: lint what a deploy would run, a risky changeset refused before
# anything runs, the event triggers stopping the same DDL typed in psql, and
# drift (DDL outside deployments).
policy_example() {
	local conn=$1
	local copy=.pgchange/example

	cd "$SRC"
	step "pgchange check: the policy rules over every changeset of examples/ (nothing runs)"
	show pgchange -d "$conn" -p shop check -c examples/changelog.xml --all

	step "a changeset that destroys data is refused before anything runs"
	cat >"$copy/db/007_drop_name.sql" <<-'EOF'
		--liquibase formatted sql

		--changeset erin:drop-customer-name
		--comment: names move to a profile service
		ALTER TABLE ${schema}.customer DROP COLUMN name;
		--rollback ALTER TABLE ${schema}.customer ADD COLUMN name text;
	EOF
	sed -i 's|    <include file="db/005_seed_dev.sql"/>|&\n    <include file="db/007_drop_name.sql"/>|' "$copy/changelog.xml"
	show cat "$copy/db/007_drop_name.sql"
	show_fails 5 pgchange -d "$conn" -p shop deploy -c "$copy/changelog.xml" --contexts dev

	step "the event triggers check DDL from anywhere: the same statement typed in psql"
	show_fails 1 psql -X -q -d "$conn" -c "ALTER TABLE shop.customer DROP COLUMN name"

	step "pgchange drift: DDL run outside a deployment is recorded"
	show psql -X -q -d "$conn" -c "CREATE TABLE shop.scratch (id bigint PRIMARY KEY)"
	show pgchange -d "$conn" -p shop drift
	sed -i '/007_drop_name.sql/d' "$copy/changelog.xml"
	rm -f "$copy/db/007_drop_name.sql"
}

start() {
	step "dependencies"
	"$SRC/tests/lib/deps.sh"
	setup_paths

	step "build and install into $DIR/install"
	mkdir -p "$DIR"
	# a private install: the system's PostgreSQL directories stay untouched
	"$SRC/tests/lib/private-install.sh" "$DIR/install" >/dev/null
	[ "$(id -u)" -eq 0 ] && chown -R "$OWNER" "$DIR"

	step "throwaway cluster in $DATA (socket $SOCK, port $PORT)"
	if [ -f "$DATA/postmaster.pid" ]; then
		# restart so the server loads the library just built
		as_owner pg_ctl -D "$DATA" -m fast -w stop >/dev/null
	fi
	if [ ! -f "$DATA/PG_VERSION" ]; then
		as_owner initdb -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >/dev/null
		as_owner mkdir -p "$SOCK"
		cat >>"$DATA/postgresql.conf" <<-EOF
			listen_addresses = ''
			unix_socket_directories = '$SOCK'
			port = $PORT
		EOF
	fi
	as_owner pg_ctl -D "$DATA" -l "$DIR/server.log" -w start >/dev/null
	echo "started"

	export PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres
	as_owner psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	# pgchange verify runs the example's pgTAP files (tests/lib/deps.sh installs pgTAP)
	as_owner psql -X -q -d "$DB" -c "CREATE EXTENSION pgtap"
	export PATH="$PGBIN:$PATH"
	local conn="dbname=$DB"

	step "pgchange ping before init: the extension is missing"
	show pgchange ping -d "$conn" || echo "(exit code $?, as expected)"

	step "pgchange init: install the extension"
	show pgchange init -d "$conn"

	step "pgchange ping: all versions agree"
	show pgchange ping -d "$conn"

	deploy_example "$conn"
	policy_example "$conn"
	rollback_example "$conn"

	cat <<-EOF

	The demo cluster is running.
	  connect:   psql "host=$SOCK port=$PORT user=postgres dbname=$DB"   (\\dt shop.*)
	  pgchange:  export PATH="$PGBIN:\$PATH" PGHOST="$SOCK" PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB
	             pgchange -p shop status -c examples/changelog.xml
	  stop it:   make demo-stop
	EOF
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
