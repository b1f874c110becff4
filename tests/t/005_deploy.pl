# End to end: pgchange deploy / status / validate / tag against a cluster.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('deploy');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $db = connstr($node, 'app');
my ($rc, $out, $err) = pgchange('init', '-d', $db);
is($rc, 0, 'init');

my $dir = tempdir(CLEANUP => 1);
my $cl = "$dir/changelog.sql";

sub write_changelog
{
	my ($text) = @_;
	open my $fh, '>', $cl or die;
	print $fh $text;
	close $fh;
}

my $base = <<'EOF';
--liquibase formatted sql

--changeset alice:1
--comment: customers
CREATE TABLE customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
--rollback DROP TABLE customer;

--changeset alice:2 runInTransaction:false
CREATE INDEX CONCURRENTLY customer_email ON customer (email);

--changeset bob:3 context:dev
INSERT INTO customer (email) VALUES ('dev@example.com');

--changeset bob:4
SET search_path = nowhere;
SET statement_timeout = '4711s';
CREATE FUNCTION public.customer_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.customer $$;

--changeset bob:5
--comment: unqualified, and records the settings it runs with: the SETs of bob:4 must not reach it
CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint REFERENCES customer);
CREATE TABLE public.settings_seen AS SELECT current_setting('search_path') AS search_path, current_setting('statement_timeout') AS statement_timeout;
EOF
write_changelog($base);

# status before: everything pending; --exit-code says so
($rc, $out) = pgchange('status', '-c', $cl, '-d', $db, '--exit-code');
is($rc, 7, 'status --exit-code exits 7 when changesets are pending');
like($out, qr/changelog\.sql::1::alice .*pending.*run/, 'status lists the pending changesets');

# dry run: prints SQL, changes nothing
($rc, $out) = pgchange('deploy', '-c', $cl, '-d', $db, '--dry-run');
is($rc, 0, 'dry run exits 0');
like($out, qr/CREATE TABLE customer.*record_changeset/s, 'dry run prints the changesets and their bookkeeping');
is($node->safe_psql('app', "SELECT to_regclass('public.customer') IS NULL"), 't', 'dry run created nothing');
is($node->safe_psql('app', "SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL"), '0', 'dry run took no lock');

# contexts: prod excludes the dev seed
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--contexts', 'prod', '--meta', 'environment=staging');
is($rc, 0, 'deploy exits 0') or diag($err);
like($out, qr/\[4\/4\] ran\s+changelog\.sql::5::bob/, 'one line per changeset, k/N');
is($node->safe_psql('app', 'SELECT count(*) FROM customer'), '0', 'the dev-only changeset was filtered out');
is($node->safe_psql('app', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'customer_email'::regclass"),
	't', 'the CONCURRENTLY index was built outside a transaction');
is($node->safe_psql('app', q{SELECT string_agg(changeset_id || ' ' || exec_type, ',' ORDER BY exec_order) FROM pgchange.history}),
	'1 executed,2 executed,4 executed,5 executed', 'the registry has what ran, in order');
# bob:4 runs SET search_path and SET statement_timeout; the next changeset, in
# the same session, must see the session's own values, not bob:4's
# (psql, not safe_psql: with a leak bob:5 fails and the table does not exist)
my (undef, $seen) = $node->psql('app', q{SELECT search_path || ' | ' || statement_timeout FROM public.settings_seen});
is($seen, '"$user", public | 0', 'SET in a changeset does not leak into the next one');
is($node->safe_psql('app', "SELECT metadata->>'environment' FROM pgchange.deployments"), 'staging',
	'deployment metadata recorded');
is($node->safe_psql('app', "SELECT metadata->>'changelog' FROM pgchange.deployments"), $cl,
	'the changelog given with -c is recorded');
is($node->safe_psql('app', "SELECT duration IS NOT NULL FROM pgchange.history WHERE changeset_id = '2'"), 't',
	'a statement-by-statement changeset has its duration');
is($node->safe_psql('app', 'SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL'), '0',
	'the lock is released');

# a second deploy without contexts runs the dev seed only; then it is a no-op
($rc, $out) = pgchange('deploy', '-c', $cl, '-d', $db);
like($out, qr/\[1\/1\] ran\s+changelog\.sql::3::bob/, 'a deploy without contexts runs what was filtered before');
($rc, $out) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'a no-op deploy exits 0');
like($out, qr/0 of 0 changeset/, 'a no-op deploy runs nothing');
($rc) = pgchange('status', '-c', $cl, '-d', $db, '--exit-code');
is($rc, 0, 'status --exit-code is 0 when up to date');

# cosmetic edits validate; a real edit stops the deploy with exit 4
(my $cosmetic = $base) =~ s/CREATE TABLE customer \(/-- reformatted\nCREATE TABLE customer (\n    /;
write_changelog($cosmetic);
($rc) = pgchange('validate', '-c', $cl, '-d', $db);
is($rc, 0, 'comments and whitespace do not break validation');
(my $edited = $base) =~ s/email text NOT NULL/email text/;
write_changelog($edited . "\n--changeset eve:6\nCREATE TABLE never (id int);\n");
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 4, 'an edited applied changeset fails validation with exit 4');
like($err, qr/changelog\.sql:3: changeset changelog\.sql::1::alice was changed after it was applied/,
	'the error names file:line and the changeset');
like($err, qr/hint: .*runOnChange/, 'the hint names the ways out');
is($node->safe_psql('app', "SELECT to_regclass('public.never') IS NULL"), 't', 'nothing ran');
($rc, $out) = pgchange('validate', '-c', $cl, '-d', $db, '--json');
is($rc, 4, 'validate exits 4');
my $v = decode_json($out);
is($v->{blocked}, 1, 'validate --json counts one blocked changeset');

# a failing changeset rolls back whole, names the line and statement
write_changelog($base . <<'EOF');

--changeset carol:7
CREATE TABLE payment (id bigint PRIMARY KEY);
INSERT INTO payment VALUES (1);
INSERT INTO payment VALUES (1);
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 1, 'a failing changeset exits 1');
like($err, qr/changelog\.sql:27: changeset changelog\.sql::7::carol failed/, 'the failing statement\'s line');
like($err, qr/duplicate key value violates unique constraint "payment_pkey"/, 'the server\'s message');
like($err, qr/detail: Key \(id\)=\(1\) already exists/, 'the server\'s detail');
like($err, qr/Statement: INSERT INTO payment VALUES \(1\)/, 'the failing statement');
is($node->safe_psql('app', "SELECT to_regclass('public.payment') IS NULL"), 't', 'the changeset rolled back whole');
is($node->safe_psql('app', "SELECT status FROM pgchange.deployments ORDER BY deployment_id DESC LIMIT 1"),
	'failed', 'the deployment is recorded as failed');

# CONCURRENTLY in a transactional changeset: reported before anything runs
write_changelog($base . "\n--changeset dan:8\nCREATE TABLE t8 (id int);\n\n--changeset dan:9\nCREATE INDEX CONCURRENTLY t8_id ON t8 (id);\n");
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 2, 'a non-transactional statement in a transactional changeset is refused');
like($err, qr/changelog\.sql:28: CREATE INDEX CONCURRENTLY cannot run inside a transaction block/, 'it is named with its line');
like($err, qr/runInTransaction:false/, 'the hint names the fix');
is($node->safe_psql('app', "SELECT to_regclass('public.t8') IS NULL"), 't', 'nothing ran');

# non-transactional: a failure leaves progress; the rerun resumes after it
my $dan10 = <<'EOF';

--changeset dan:10 runInTransaction:false
CREATE TABLE step (id int);
INSERT INTO step VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY step_id ON step (id);
INSERT INTO step VALUES (2);
EOF
write_changelog($base . $dan10);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 1, 'the unique concurrent index fails on the duplicate');
like($err, qr/changelog\.sql:27: changeset changelog\.sql::10::dan failed/, 'the failing statement\'s line');
like($err, qr/index public\.step_id was left INVALID/, 'the INVALID index is reported');
like($err, qr/DROP INDEX CONCURRENTLY public\.step_id/, 'with the fix');
is($node->safe_psql('app', "SELECT statements_done || '/' || statements_total FROM pgchange.progress WHERE changeset_id = '10'"),
	'2/4', 'progress says two of four statements are done');
$node->safe_psql('app', 'DROP INDEX public.step_id');
$node->safe_psql('app', 'DELETE FROM step WHERE ctid = (SELECT max(ctid) FROM step)');
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'the rerun succeeds') or diag($err);
is($node->safe_psql('app', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM step}), '1,2',
	'it resumed after the last completed statement (the INSERT of 1, 1 did not run again)');
is($node->safe_psql('app', "SELECT count(*) FROM pgchange.progress"), '0', 'progress is cleared once recorded');

# lock_timeout: a busy table delays the changeset, with retries reported
write_changelog($base . $dan10 . "\n--changeset erin:11\nALTER TABLE customer ADD COLUMN note text;\n");
my $bg = $node->background_psql('app');
$bg->query_safe('BEGIN; LOCK TABLE customer IN ACCESS SHARE MODE;');
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--lock-timeout', '100ms', '--retries', '2');
is($rc, 1, 'the changeset gives up after its retries');
like($err, qr/canceling statement due to lock timeout; retry 1 of 2/, 'each retry is reported');
like($err, qr/retry 2 of 2/, 'up to the bound');
$bg->query_safe('COMMIT');
$bg->quit;
($rc) = pgchange('deploy', '-c', $cl, '-d', $db, '--lock-timeout', '1s');
is($rc, 0, 'once the table is free the deploy goes through');

# tag
($rc, $out) = pgchange('tag', 'v1', '-d', $db);
is($rc, 0, 'tag exits 0');
like($out, qr/11.*erin/, 'the last applied changeset is tagged');
($rc, $out, $err) = pgchange('tag', 'v1', '-d', $db);
is($rc, 1, 'a duplicate tag fails');
like($err, qr/tag 'v1' already exists/, 'and says so');

# the lock: held by someone else, the deploy waits and then gives up with exit 3
$node->safe_psql('postgres', 'SELECT 1');
my $holder = $node->background_psql('app');
$holder->query_safe("SELECT pgchange.lock('default', 'manual fix', 'investigating')");
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--lock-wait', '1s');
is($rc, 3, 'a deploy that cannot get the lock exits 3');
like($err, qr/waiting up to 1s for the lock: project 'default' is locked by 'manual fix'/, 'it says who holds the lock');
like($err, qr/investigating/, 'and why');
$holder->quit;
($rc) = pgchange('deploy', '-c', $cl, '-d', $db, '--lock-wait', '10s');
is($rc, 0, 'once the holder is gone the lock is free at once');

# preconditions, in a second project of the same database
my $pre = "$dir/pre.sql";
open my $pfh, '>', $pre or die;
print $pfh <<'EOF';
--liquibase formatted sql

--changeset pat:1
--preconditions onFail:MARK_RAN
--precondition-table-exists tableName:customer
CREATE TABLE pre_ok (id int);

--changeset pat:2
--preconditions onFail:MARK_RAN
--precondition-table-exists schemaName:public tableName:nosuch
CREATE TABLE pre_marked (id int);

--changeset pat:3
--preconditions onFail:CONTINUE
--precondition-view-exists viewName:nosuch_view
CREATE TABLE pre_later (id int);

--changeset pat:4
--preconditions onFail:HALT onError:WARN
--precondition-sql-check expectedResult:1 SELECT no_such_column FROM customer
CREATE TABLE pre_warned (id int);
EOF
close $pfh;
($rc, $out, $err) = pgchange('deploy', '-c', $pre, '-d', $db, '-p', 'preconditions');
is($rc, 0, 'a deploy with preconditions exits 0') or diag($err);
is($node->safe_psql('app', q{SELECT string_agg(changeset_id || ' ' || exec_type, ',' ORDER BY exec_order) FROM pgchange.history WHERE project = 'preconditions'}),
	'1 executed,2 mark_ran,4 executed', 'table-exists holds, fails into MARK_RAN, CONTINUE leaves it pending, onError:WARN runs');
is($node->safe_psql('app', q{SELECT to_regclass('pre_ok') IS NOT NULL AND to_regclass('pre_marked') IS NULL AND to_regclass('pre_later') IS NULL AND to_regclass('pre_warned') IS NOT NULL}),
	't', 'the objects match what was recorded');
like($err, qr/precondition of changeset 4 could not be checked; running it anyway/, 'onError:WARN warns');
$node->safe_psql('app', 'CREATE VIEW nosuch_view AS SELECT 1');
($rc, $out) = pgchange('deploy', '-c', $pre, '-d', $db, '-p', 'preconditions');
like($out, qr/ran\s+pre\.sql::3::pat/, 'once its view exists, the CONTINUE changeset runs');

# properties with contexts: defined only when the run's contexts match
my $props = "$dir/props.sql";
open my $prfh, '>', $props or die;
print $prfh <<'EOF';
--liquibase formatted sql logicalFilePath:db/props.sql
--property name:suffix value:dev context:dev
--property name:suffix value:prod context:prod

--changeset pat:p1
CREATE TABLE prop_${suffix} (id int);
EOF
close $prfh;
($rc, $out, $err) = pgchange('deploy', '-c', $props, '-d', $db, '-p', 'props', '--contexts', 'prod');
is($rc, 0, 'a deploy with context-dependent properties exits 0') or diag($err);
is($node->safe_psql('app', q{SELECT to_regclass('prop_prod') IS NOT NULL AND to_regclass('prop_dev') IS NULL}),
	't', 'the property of the deploy\'s context was used');
is($node->safe_psql('app', q{SELECT path FROM pgchange.history WHERE project = 'props'}),
	'db/props.sql', 'the header\'s logicalFilePath is recorded, not the root\'s path');
($rc) = pgchange('validate', '-c', $props, '-d', $db, '-p', 'props', '--contexts', 'prod');
is($rc, 0, 'validate under the same contexts: unchanged');
($rc, $out, $err) = pgchange('validate', '-c', $props, '-d', $db, '-p', 'props');
is($rc, 4, 'validate without --contexts: every context matches, the first definition (dev) wins, so the text changed');
($rc, $out, $err) = pgchange('validate', '-c', $props, '-d', $db, '-p', 'props', '--contexts', 'dev',
	{ env => { SUFFIX => 'prod' } });
is($rc, 0, 'an environment variable wins over the changelog\'s definitions, as in Liquibase') or diag($err);

# a goose migration included from a Liquibase master is refused
mkdir "$dir/goose" or die;
open my $gfh, '>', "$dir/goose/00001_goose.sql" or die;
print $gfh "-- +goose Up\nCREATE TABLE from_goose (id int);\n-- +goose Down\nDROP TABLE from_goose;\n";
close $gfh;
open my $mfh, '>', "$dir/master.xml" or die;
print $mfh <<'EOF';
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
    <include file="props.sql" relativeToChangelogFile="true"/>
    <include file="goose/00001_goose.sql" relativeToChangelogFile="true"/>
</databaseChangeLog>
EOF
close $mfh;
($rc, $out, $err) = pgchange('deploy', '-c', "$dir/master.xml", '-d', $db, '-p', 'mixed');
is($rc, 2, 'a goose file included from a master is a changelog error');
like($err, qr{goose/00001_goose\.sql:1: goose migration in a Liquibase changelog}, 'named with the line of its +goose Up');
like($err, qr{detail: It is included at \S*master\.xml:3;.*Down section would run with its Up}, 'the detail says where and why');
like($err, qr{hint: A goose migrations directory is a root of its own: deploy it with pgchange deploy -c \S*goose }, 'the hint names the fix');
is($node->safe_psql('app', q{SELECT to_regclass('from_goose') IS NULL AND NOT EXISTS (SELECT FROM pgchange.history WHERE project = 'mixed')}),
	't', 'nothing ran');

$node->stop;
done_testing();
