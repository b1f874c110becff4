# End to end: rollbacks that cannot run in a transaction block, and the
# ways a rollback is interrupted.  A partly run non-transactional changeset
# is rolled back (what was done gets undone); a statement-by-statement
# rollback that fails half way resumes after its last completed statement;
# Ctrl-C cancels a running rollback and undoes nothing of it; lock_timeout
# is retried as in a deploy; goose Down sections (NO TRANSACTION ones
# statement by statement, as goose split them) and a goose migration
# without Down that blocks the rollback.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time sleep);
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('rollback_nontx');
$node->init;
# a prepared transaction holds a lock with nobody behind it
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 2');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $db = connstr($node, 'app');
my ($rc, $out, $err) = pgchange('init', '-d', $db);
is($rc, 0, 'init');

my $dir = tempdir(CLEANUP => 1);
my $cl = "$dir/changelog.sql";

sub write_file
{
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	return;
}

sub query { return $node->safe_psql('app', $_[0]); }

sub applied
{
	my ($project) = @_;
	$project //= 'default';
	return query("SELECT coalesce(string_agg(changeset_id, ',' ORDER BY exec_order), '') "
		  . "FROM pgchange.registry WHERE project = '$project'");
}

sub indexes
{
	return query("SELECT coalesce(string_agg(indexname, ',' ORDER BY indexname), '') "
		  . "FROM pg_indexes WHERE tablename = 'big'");
}

# ------------------------------------ a partly run changeset is rolled back --
my $text = <<'EOF';
--liquibase formatted sql

--changeset dan:1
CREATE TABLE big (id int, code text);
--rollback DROP TABLE big;

--changeset dan:2 runInTransaction:false
CREATE INDEX CONCURRENTLY big_a ON big (id);
CREATE INDEX CONCURRENTLY big_b ON big (nosuch);
--rollback DROP INDEX CONCURRENTLY IF EXISTS big_b;
--rollback DROP INDEX CONCURRENTLY IF EXISTS big_a;
EOF
write_file($cl, $text);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 1, 'the second statement of changeset 2 fails');
is(applied(), '1', 'changeset 2 is not recorded');
is(indexes(), 'big_a', 'but its first statement is done');
is(query("SELECT statements_done || '/' || statements_total || ' ' || kind FROM pgchange.progress"),
	'1/2 deploy', 'and recorded as progress');
is(query("SELECT rollback_sql IS NOT NULL AND NOT rollback_in_transaction FROM pgchange.progress"),
	't', 'with the rollback it will need');

($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1', '--dry-run');
is($rc, 0, 'dry run');
like($out, qr/roll back changeset changelog\.sql::2::dan \(partly run, .*statement by statement, outside a transaction\nDROP INDEX CONCURRENTLY IF EXISTS big_b;\nDROP INDEX CONCURRENTLY IF EXISTS big_a;/,
	'the partly run changeset comes first, statement by statement');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1');
is($rc, 0, 'rollback --count 1 across the partly run changeset') or diag($err);
is(indexes(), '', 'what was done of it is undone');
is(query("SELECT count(*) FROM pgchange.progress"), '0', 'its progress is gone');
is(applied(), '1', 'changeset 1 stays');
is(query("SELECT detail->>'exec_type' FROM pgchange.events WHERE kind = 'rollback'"), 'partial',
	'the event history records the rollback of a partly run changeset');

# fixed, it runs from its first statement again (nothing to resume)
$text =~ s/big \(nosuch\)/big (code)/;
write_file($cl, $text);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'the fixed changeset deploys') or diag($err);
unlike($err, qr/resuming/, 'from its first statement');
is(indexes(), 'big_a,big_b', 'both indexes exist');

# ------------------------------ a statement-by-statement rollback resumes --
$text .= <<'EOF';

--changeset dan:3 runInTransaction:false
CREATE INDEX CONCURRENTLY big_c ON big (id);
CREATE INDEX CONCURRENTLY big_d ON big (id);
--rollback DROP INDEX CONCURRENTLY big_c;
--rollback DROP INDEX CONCURRENTLY big_d;
EOF
write_file($cl, $text);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy changeset 3') or diag($err);
query('DROP INDEX big_d');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1');
is($rc, 1, 'its rollback fails at the second statement');
like($err, qr/rollback of changeset changelog\.sql::3::dan failed/, 'naming the changeset');
like($err, qr/index "big_d" does not exist/, 'with the server error');
like($err, qr/hint: .*resumes after statement 1 of 2/, 'and saying a rerun resumes');
is(applied(), '1,2,3', 'changeset 3 is still recorded');
is(indexes(), 'big_a,big_b', 'its first rollback statement is done');
is(query("SELECT statements_done || '/' || statements_total || ' ' || kind FROM pgchange.progress"),
	'1/2 rollback', 'and recorded as rollback progress');
is(query("SELECT action || ': ' || reason FROM pgchange.rollback_plan('default', count => 1)"),
	'rollback: partly rolled back: resumes', 'rollback_plan says it resumes');
is(query("SELECT status FROM pgchange.deployments WHERE kind = 'rollback' ORDER BY deployment_id DESC LIMIT 1"),
	'failed', 'the rollback deployment failed');
query('CREATE INDEX big_d ON big (id)');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1', '-v');
is($rc, 0, 'fixed by hand, the rollback runs again') or diag($err);
like($err, qr/resuming after statement 1 of 2/, 'it resumes after the statement done');
is(indexes(), 'big_a,big_b', 'big_c was not dropped twice, big_d is dropped');
is(applied(), '1,2', 'changeset 3 is unrecorded');
is(query("SELECT count(*) FROM pgchange.progress"), '0', 'and its progress is gone');

# --------------------------------------------------------------- Ctrl-C --
# changeset 5's rollback sleeps while table sleep_please exists
$text .= <<'EOF';

--changeset dan:4
CREATE TABLE slow (id int);
--rollback DROP TABLE slow;

--changeset dan:5
CREATE TABLE sleepy (id int);
--rollback DROP TABLE sleepy;
--rollback SELECT pg_sleep(60) FROM pg_class WHERE relname = 'sleep_please';
EOF
write_file($cl, $text);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy changesets 4 and 5') or diag($err);
query('CREATE TABLE sleep_please ()');
my ($bout, $berr) = ('', '');
my $start = time;
my $h = IPC::Run::start([ 'pgchange', 'rollback', '--count', '1', '-d', $db ], '>', \$bout, '2>', \$berr);
my $running = 0;
for (1 .. 100)
{
	$running = query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%run_rollback%' "
		  . "AND state = 'active' AND wait_event = 'PgSleep'");
	last if $running;
	sleep 0.1;
}
is($running, '1', 'the slow rollback is running');
$h->signal('INT');
$h->finish;
note("pgchange rollback => " . ($h->full_result(0) >> 8) . "\n$bout$berr");
is($h->full_result(0) >> 8, 1, 'a canceled rollback exits 1');
ok(time - $start < 30, 'Ctrl-C stopped it at once');
like($berr, qr/canceling statement due to user request/, 'the cancellation is reported');
is(query("SELECT to_regclass('sleepy') IS NOT NULL"), 't', 'the table its rollback dropped is back');
is(applied(), '1,2,3,4,5', 'changeset 5 is still recorded');
is(query("SELECT status FROM pgchange.deployments ORDER BY deployment_id DESC LIMIT 1"), 'aborted',
	'the rollback deployment is aborted');
is(query("SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL"), '0', 'the lock is released');
is(query("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"), '0',
	'nothing is left running on the server');
query('DROP TABLE sleep_please');
($rc, $out, $err) = pgchange('rollback', '--count', '1', '-d', $db);
is($rc, 0, 'run again, it undoes changeset 5') or diag($err);

# ------------------------------------------------- lock_timeout and retries --
query("BEGIN; LOCK TABLE slow IN ACCESS SHARE MODE; PREPARE TRANSACTION 'reader';");
($rc, $out, $err) = pgchange('rollback', '--count', '1', '-d', $db, '--lock-timeout', '100ms',
	'--retries', '2');
is($rc, 1, 'a rollback that cannot get its table lock fails after the retries');
like($err, qr/warning: rollback of 4: canceling statement due to lock timeout; retry 1 of 2/,
	'retrying after lock_timeout');
like($err, qr/retry 2 of 2/, 'as often as --retries says');
is(applied(), '1,2,3,4', 'nothing is undone');
query("COMMIT PREPARED 'reader'");
($rc, $out, $err) = pgchange('rollback', '--count', '1', '-d', $db);
is($rc, 0, 'once the lock is free the rollback works') or diag($err);
is(applied(), '1,2,3', 'changeset 4 is undone');

# ----------------------------------------------------------------- goose --
my $goose = "$dir/goose";
mkdir $goose;
write_file("$goose/00001_create.sql", <<'EOF');
-- +goose Up
CREATE TABLE g1 (id int, name text);

-- +goose Down
DROP TABLE g1;
EOF
write_file("$goose/00002_index.sql", <<'EOF');
-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY g1_id ON g1 (id);
CREATE INDEX CONCURRENTLY g1_name ON g1 (name);

-- +goose Down
DROP INDEX CONCURRENTLY g1_name;
DROP INDEX CONCURRENTLY g1_id;
EOF
write_file("$goose/00003_function.sql", <<'EOF');
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION g1_count() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM g1);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP FUNCTION g1_count();
-- +goose StatementEnd
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $goose, '-d', $db, '-p', 'goose');
is($rc, 0, 'deploy the goose migrations') or diag($err);
is(query("SELECT array_to_string(rollback_statements, ' | ') || ' ' || rollback_in_transaction "
	  . "FROM pgchange.registry WHERE project = 'goose' AND changeset_id = '2'"),
	'DROP INDEX CONCURRENTLY g1_name; | DROP INDEX CONCURRENTLY g1_id; false',
	'the Down section is stored as goose splits it, outside a transaction');

write_file("$goose/00004_no_down.sql", <<'EOF');
-- +goose Up
CREATE TABLE g4 (id int);
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $goose, '-d', $db, '-p', 'goose');
is($rc, 0, 'deploy a migration without Down') or diag($err);
($rc, $out, $err) = pgchange('rollback', '-c', $goose, '-d', $db, '-p', 'goose', '--count', '4');
is($rc, 4, 'it blocks a rollback through it');
like($err, qr/00004_no_down\.sql:\d+: changeset \S*00004_no_down\.sql::4::goose has no rollback/,
	'naming the file and the migration');
is(applied('goose'), '1,2,3,4', 'nothing is undone');
unlink "$goose/00004_no_down.sql";
query(  "SELECT pgchange.lock('goose', 'by hand'); "
	  . "SELECT pgchange.begin_deployment('goose', 'rollback') AS d \\gset\n"
	  . "DROP TABLE g4; SELECT pgchange.record_rollback('goose', :d, '4', 'goose'); "
	  . "SELECT pgchange.finish_deployment(:d, 'succeeded'); SELECT pgchange.unlock('goose');");
($rc, $out, $err) = pgchange('rollback', '-c', $goose, '-d', $db, '-p', 'goose', '--count', '3', '--json');
is($rc, 0, 'roll back the goose migrations') or diag($err);
is(join(',', map { "$_->{id}:$_->{result}" } @{ decode_json($out)->{changesets} }),
	'3:rolled back,2:rolled back,1:rolled back', 'with their Down sections, newest first');
is(query("SELECT to_regclass('g1') IS NULL AND to_regprocedure('g1_count()') IS NULL"), 't',
	'everything the migrations made is gone');
($rc, $out, $err) = pgchange('deploy', '-c', $goose, '-d', $db, '-p', 'goose');
is($rc, 0, 'and they deploy again') or diag($err);
is(query("SELECT count(*) FROM pg_indexes WHERE tablename = 'g1'"), '2', 'indexes included');

$node->stop;
done_testing();
