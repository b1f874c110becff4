# End to end: pgchange rollback against a cluster.  Every target (--count,
# --to-tag, --to-date, --deployment), --dry-run, the rollback forms of
# formatted SQL (--rollback lines, a /* liquibase rollback */ block, a
# changesetId reference, "empty", a marked-ran changeset), a changeset
# without rollback that blocks the whole rollback before anything is
# undone, rollback SQL taken from the registry when the files changed or
# are gone (and the change reported), unique tags, deploy --to-tag, and
# history showing both the deploy and the rollback.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('rollback');
$node->init;
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

# the applied changesets, in order
sub applied
{
	return query("SELECT coalesce(string_agg(changeset_id, ',' ORDER BY exec_order), '') "
		  . "FROM pgchange.registry WHERE project = 'default'");
}

my $base = <<'EOF';
--liquibase formatted sql

--changeset alice:1
CREATE TABLE t1 (id int PRIMARY KEY);
--rollback DROP TABLE t1;

--changeset alice:2
CREATE TABLE t2 (id int);
INSERT INTO t2 VALUES (42);
/* liquibase rollback
DROP TABLE t2;
*/
--tag v1

--changeset alice:3
ALTER TABLE t1 ADD COLUMN name text;
--rollback ALTER TABLE t1 DROP COLUMN name;

--changeset alice:4
DROP TABLE t2;
--rollback changesetId:2 changesetAuthor:alice

--changeset alice:5
CREATE TABLE IF NOT EXISTS t5 (id int);
--rollback empty

--changeset alice:6
--preconditions onFail:MARK_RAN
--precondition-sql-check expectedResult:1 SELECT 0
CREATE TABLE never (id int);
EOF
write_file($cl, $base);

# ------------------------------------------------------------ deploy --to-tag --
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--to-tag', 'nope');
is($rc, 2, 'deploy --to-tag with a tag no changeset declares exits 2');
like($err, qr/no changeset of the changelog declares tag "nope"/, 'and says so');
is(applied(), '', 'nothing was deployed');

($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--to-tag', 'v1');
is($rc, 0, 'deploy --to-tag v1') or diag($err);
is(applied(), '1,2', 'it deploys up to and including the changeset declaring the tag');
is(query("SELECT tag FROM pgchange.registry WHERE changeset_id = '2'"), 'v1',
	'the declared tag is recorded on that changeset');
is(query("SELECT count(*) FROM pgchange.events WHERE kind = 'tag' AND detail->>'tag' = 'v1'"), '1',
	'and the tag is in the event history');

($rc, $out, $err) = pgchange('tag', 'v1', '-d', $db);
is($rc, 1, 'pgchange tag with a taken name fails');
like($err, qr/tag 'v1' already exists in project 'default'/, 'tags are unique per project');
like($err, qr/detail: Changeset 2 by alice \(changelog\.sql\) carries it\./, 'naming who carries it');
like($err, qr/hint: Tags are unique per project; choose another name\./, 'with a hint');

($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy the rest') or diag($err);
is(applied(), '1,2,3,4,5,6', 'all six recorded');
is(query("SELECT exec_type FROM pgchange.registry WHERE changeset_id = '6'"), 'mark_ran',
	'the precondition marked changeset 6 ran');
is(query("SELECT rollback_sql FROM pgchange.registry WHERE changeset_id = '4'"),
	"CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES (42);",
	'a referenced rollback is stored as the body of the changeset it names');
is(query("SELECT rollback_sql FROM pgchange.registry WHERE changeset_id = '2'"), 'DROP TABLE t2;',
	'a /* liquibase rollback */ block is stored');
is(query("SELECT rollback_sql = '' FROM pgchange.registry WHERE changeset_id = '5'"), 't',
	'"--rollback empty" is stored as nothing to undo');
is(query("SELECT rollback_checksum = pgchange.checksum(rollback_sql) FROM pgchange.registry WHERE changeset_id = '1'"),
	't', 'the rollback checksum is stored with it');

# ------------------------------------------------------------------ dry run --
my $before = applied();
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-tag', 'v1', '--dry-run');
is($rc, 0, 'rollback --dry-run exits 0') or diag($err);
like($out, qr/4 changeset\(s\) to roll back/, 'the dry run counts what it would undo');
like($out,
	qr/unrecord changeset changelog\.sql::6::alice.*marked ran.*unrecord changeset changelog\.sql::5::alice.*empty rollback.*roll back changeset changelog\.sql::4::alice.*BEGIN;\nCREATE TABLE t2 \(id int\);\nINSERT INTO t2 VALUES \(42\);\nSELECT pgchange\.record_rollback\('default', :deployment, '4', 'alice'\);\nCOMMIT;.*roll back changeset changelog\.sql::3::alice.*ALTER TABLE t1 DROP COLUMN name;/s,
	'it prints the SQL newest first, bookkeeping included');
unlike($out, qr/changelog\.sql::2::alice/, 'the tagged changeset stays');
is(applied(), $before, 'a dry run changes nothing');
is(query("SELECT count(*) FROM pgchange.deployments WHERE kind = 'rollback'"), '0',
	'and records no deployment');

# ------------------------------------------------------------------ --count --
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '2');
is($rc, 0, 'rollback --count 2') or diag($err);
like($out, qr/\[1\/2\] unrecorded +changelog\.sql::6::alice.*\[2\/2\] unrecorded +changelog\.sql::5::alice/s,
	'a marked-ran and an empty-rollback changeset are only unrecorded');
is(applied(), '1,2,3,4', 'the last two are gone from the registry');
is(query("SELECT to_regclass('t5') IS NOT NULL"), 't', 'the empty rollback left t5 alone');

# ----------------------------------------------------------------- --to-tag --
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-tag', 'v1', '--json');
is($rc, 0, 'rollback --to-tag v1') or diag($err);
my $r = decode_json($out);
is($r->{status}, 'succeeded', 'the JSON report says succeeded');
is_deeply([ map { "$_->{id}:$_->{result}" } @{ $r->{changesets} } ],
	[ '4:rolled back', '3:rolled back' ], 'and lists what it undid, newest first');
is_deeply($r->{target}, { to_tag => 'v1' }, 'and the target');
is(applied(), '1,2', 'everything after the tag is undone');
is(query("SELECT string_agg(id::text, ',') FROM t2"), '42', 'the referenced rollback re-created t2 as changeset 2 made it');
is(query("SELECT count(*) FROM information_schema.columns WHERE table_name = 't1' AND column_name = 'name'"),
	'0', 'the --rollback line dropped the column');
is(query("SELECT kind || ' ' || status || ' ' || changesets FROM pgchange.deployments WHERE deployment_id = $r->{deployment_id}"),
	'rollback succeeded 2', 'the rollback is a deployment of kind rollback');

($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-tag', 'unknown');
is($rc, 2, 'rollback --to-tag with an unknown tag exits 2');
like($err, qr/tag 'unknown' does not exist in project 'default'/, 'and says so');

($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1', '--to-tag', 'v1');
is($rc, 2, 'two targets are a usage error');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '0');
is($rc, 2, '--count 0 is a usage error');

# ---------------------------------------------------------------- --to-date --
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy again') or diag($err);
is(applied(), '1,2,3,4,5,6', 'all six applied again');
my $date = query("SELECT applied_at FROM pgchange.registry WHERE changeset_id = '2'");
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-date', $date);
is($rc, 0, 'rollback --to-date') or diag($err);
is(applied(), '1,2', 'what was applied after that moment is undone');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-date', 'not a date');
is($rc, 2, 'a bad date is a usage error');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-date', '2999-01-01');
is($rc, 0, 'nothing after a future date: exit 0');
like($out, qr/nothing to roll back/, 'and says so');

# ------------------------------------------------------------ --deployment --
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--json');
is($rc, 0, 'deploy once more') or diag($err);
my $dep = decode_json($out)->{deployment_id};
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--deployment', $dep);
is($rc, 0, 'rollback --deployment') or diag($err);
is(applied(), '1,2', 'the changesets of that deployment are undone');

# ------------------------------------- a changeset without rollback blocks --
my $blocked = $base . <<'EOF';

--changeset bob:7
CREATE TABLE t7 (id int);

--changeset bob:8
CREATE TABLE t8 (id int);
--rollback DROP TABLE t8;
EOF
write_file($cl, $blocked);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy with a changeset that has no rollback') or diag($err);
is(query("SELECT rollback_sql IS NULL FROM pgchange.registry WHERE changeset_id = '7'"), 't',
	'no rollback is stored for it');
$before = applied();
($rc, $out, $err) = pgchange('rollback', '-d', $db, '-c', $cl, '--count', '3');
is($rc, 4, 'a rollback passing through it exits 4');
like($err, qr/changelog\.sql:\d+: changeset changelog\.sql::7::bob has no rollback, and the rollback would pass through it/,
	'naming FILE:LINE and the changeset');
like($err, qr/nothing was rolled back/, 'saying nothing was rolled back');
is(applied(), $before, 'the registry is unchanged');
is(query("SELECT to_regclass('t8') IS NOT NULL"), 't', 'and the changeset before it was not undone');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '3');
is($rc, 4, 'without the files the error still names the changeset');
like($err, qr/changeset changelog\.sql::7::bob has no rollback/, 'by path, id and author');
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '1');
is($rc, 0, 'a rollback that stops before it works') or diag($err);
is(query("SELECT to_regclass('t8') IS NULL"), 't', 'and undoes changeset 8');

# the SQL API shows the same plan, and which changeset blocks it
is(query("SELECT string_agg(step || ':' || changeset_id || ':' || action, ',' ORDER BY step) "
	  . "FROM pgchange.rollback_plan('default', count => 2)"),
	'1:7:blocked,2:6:unrecord', 'pgchange.rollback_plan() shows the blocker');

# ---------------------------------------------- the registry, not the files --
# change the rollback of changeset 3 in the files: status and validate warn,
# the rollback warns and runs the stored one
(my $edited = $base) =~ s/--rollback ALTER TABLE t1 DROP COLUMN name;/--rollback ALTER TABLE t1 DROP COLUMN name CASCADE;/;
write_file($cl, $edited);
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--count', '4');    # 7 has no rollback: unrecord it by hand
is($rc, 4, 'still blocked by changeset 7');
query(  "SELECT pgchange.lock('default', 'by hand'); "
	  . "SELECT pgchange.begin_deployment('default', 'rollback') AS d \\gset\n"
	  . "SELECT pgchange.record_rollback('default', :d, '7', 'bob'); "
	  . "SELECT pgchange.finish_deployment(:d, 'succeeded'); SELECT pgchange.unlock('default');");
is(applied(), '1,2,3,4,5,6', 'a DBA undid 7 by hand and recorded it with record_rollback()');
($rc, $out, $err) = pgchange('status', '-c', $cl, '-d', $db);
like($err, qr/warning: \S*changelog\.sql:\d+: the rollback of changeset changelog\.sql::3::alice in the files differs from the one stored when it was deployed/,
	'status warns about the changed rollback');
($rc, $out, $err) = pgchange('validate', '-c', $cl, '-d', $db);
is($rc, 0, 'validate still passes (a rollback is not what ran)');
like($err, qr/the rollback of changeset changelog\.sql::3::alice in the files differs/, 'and warns too');
unlike($err, qr/changeset changelog\.sql::[1245]::alice/, 'about that changeset only');

# the file goes away: rollback needs nothing from it
unlink $cl;
($rc, $out, $err) = pgchange('rollback', '-d', $db, '--to-tag', 'v1');
is($rc, 0, 'rollback with the changelog gone works from the registry') or diag($err);
is(applied(), '1,2', 'everything after v1 undone');
is(query("SELECT to_regclass('t2') IS NOT NULL AND to_regclass('t5') IS NOT NULL"), 't',
	'with the stored SQL');

# the changed rollback, warned about during the rollback itself
write_file($cl, $edited);
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db);
is($rc, 0, 'deploy the edited changelog') or diag($err);
is(query("SELECT rollback_sql FROM pgchange.registry WHERE changeset_id = '3'"),
	'ALTER TABLE t1 DROP COLUMN name CASCADE;', 'a new deploy stores the new rollback');
write_file($cl, $base);
($rc, $out, $err) = pgchange('rollback', '-d', $db, '-c', $cl, '--to-tag', 'v1', '--dry-run');
is($rc, 0, 'dry run with the old files');
like($err, qr/warning: \S*changelog\.sql:\d+: the rollback of changeset changelog\.sql::3::alice in the files differs/,
	'rollback warns that the files differ');
like($out, qr/DROP COLUMN name CASCADE;/, 'and runs the stored rollback, not the file');

# ------------------------------------------------------------------ history --
($rc, $out, $err) = pgchange('history', '-d', $db, '--deployments');
is($rc, 0, 'history --deployments');
like($out, qr/\brollback +\| succeeded/, 'lists the rollbacks');
like($out, qr/\bdeploy +\| succeeded/, 'and the deploys');
is(query("SELECT string_agg(kind, ',' ORDER BY event_id) FROM pgchange.events "
	  . "WHERE kind IN ('changeset', 'rollback') AND detail->>'id' = '3'"),
	'changeset,rollback,changeset,rollback,changeset,rollback,changeset,rollback,changeset',
	'the event history keeps every deploy and rollback of changeset 3');
is(query("SELECT detail->>'exec_order' IS NOT NULL AND (detail->>'deployed_in')::bigint > 0 "
	  . "FROM pgchange.events WHERE kind = 'rollback' AND detail->>'id' = '3' LIMIT 1"),
	't', 'a rollback event says which deployment applied what it undid');

# ---------------------------------------- a formatted-SQL --tag, twice --
write_file("$dir/twice.sql", <<'EOF');
--liquibase formatted sql

--changeset carol:1
CREATE TABLE c1 (id int);
--tag v1
EOF
($rc, $out, $err) = pgchange('deploy', '-c', "$dir/twice.sql", '-d', $db, '-p', 'other');
is($rc, 0, 'another project may use the same tag name') or diag($err);
write_file("$dir/twice.sql", <<'EOF');
--liquibase formatted sql

--changeset carol:1
CREATE TABLE c1 (id int);
--tag v1

--changeset carol:2
CREATE TABLE c2 (id int);
--tag v1
EOF
($rc, $out, $err) = pgchange('deploy', '-c', "$dir/twice.sql", '-d', $db, '-p', 'other');
is($rc, 1, 'a declared tag taken in the project fails that changeset');
like($err, qr/tag 'v1' already exists in project 'other'/, 'with the uniqueness error');
is(query("SELECT count(*) FROM pgchange.registry WHERE project = 'other'"), '1',
	'and the changeset carrying it is not recorded');
($rc, $out, $err) = pgchange('deploy', '-c', "$dir/twice.sql", '-d', $db, '-p', 'other', '--to-tag', 'v1');
is($rc, 2, 'deploy --to-tag with a tag declared twice exits 2');
like($err, qr/twice\.sql:7: tag "v1" is declared a second time \(first at .*twice\.sql:3\)/,
	'naming both places');

$node->stop;
done_testing();
