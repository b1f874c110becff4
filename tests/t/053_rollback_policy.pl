# End to end: the policy engine during pgchange rollback.  Undoing what a
# changeset did (dropping a table that now holds rows, renaming a column
# back) is not blocked by the default error-level rules but is recorded;
# rules about locking a large table still block a rollback (exit 5), and
# nothing of that changeset is undone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('rollback_policy');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $db = connstr($node, 'app');
my ($rc, $out, $err) = pgchange('init', '-d', $db);
is($rc, 0, 'init');
sub query { return $node->safe_psql('app', $_[0]); }

my $dir = tempdir(CLEANUP => 1);
my $cl = "$dir/changelog.sql";
open my $fh, '>', $cl or die "$cl: $!";
print $fh <<'SQL';
--liquibase formatted sql

--changeset alice:1
--comment: a table
CREATE TABLE orders (id bigint PRIMARY KEY, note text);
--rollback DROP TABLE orders;

--changeset alice:2
--comment: a clearer name
ALTER TABLE orders RENAME COLUMN note TO remark;
--rollback ALTER TABLE orders RENAME COLUMN remark TO note;

--changeset alice:3
--comment: an index, built on an empty table
CREATE INDEX orders_remark ON orders (remark);
--rollback DROP INDEX orders_remark;
SQL
close $fh;

($rc, $out, $err) = pgchange('deploy', '-d', $db, '-c', $cl);
is($rc, 0, 'deploy: the table and the rename are created in the deployment') or diag($err);

# the table fills up and becomes large by the project's settings
query(q{INSERT INTO orders SELECT g, 'n' FROM generate_series(1, 500) g; ANALYZE orders;
	SELECT pgchange.policy_push('{"large_table_rows": 100}', 'default')});

($rc, $out, $err) = pgchange('rollback', '-d', $db, '-c', $cl, '--count', '1');
is($rc, 5, 'a rollback that drops an index of a large table without CONCURRENTLY is blocked: exit 5');
like($err, qr/\[drop-index-non-concurrently\]/, 'by the locking rule');
is(query(q{SELECT count(*) FROM pgchange.registry WHERE project = 'default'}), '3',
	'nothing was undone');
is(query(q{SELECT to_regclass('orders_remark') IS NOT NULL}), 't', 'the index is still there');

# the team accepts the short lock (a warning from now on) and rolls back all
query(q{SELECT pgchange.policy_push('{"large_table_rows": 100, "rules": {"drop-index-non-concurrently": "warn"}}', 'default')});
($rc, $out, $err) = pgchange('rollback', '-d', $db, '-c', $cl, '--count', '3');
is($rc, 0, 'dropping a table that holds rows and renaming back are allowed in a rollback') or diag($err);
is(query(q{SELECT to_regclass('orders') IS NULL}), 't', 'the table is gone');
is(query(q{SELECT string_agg(rule || ':' || severity || ':' || blocked, ',' ORDER BY rule)
	FROM pgchange.violations WHERE rule IN ('drop-table', 'rename-column')}),
	'drop-table:error:false,rename-column:error:false',
	'both are recorded as error-level violations that did not block');

# outside a rollback the same drop is blocked
query(q{CREATE TABLE kept (id bigint PRIMARY KEY); INSERT INTO kept VALUES (1)});
my ($qrc, $qout, $qerr) = $node->psql('app', 'DROP TABLE kept');
like($qerr, qr/\[drop-table\]/, 'a DROP TABLE of rows outside a rollback is still blocked');

$node->stop;
done_testing();
