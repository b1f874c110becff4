# End to end: deploy --test-rollback (deploy, roll back, deploy again, each
# step recorded; a changeset without rollback fails it before anything
# runs; a rollback that leaves something behind fails it), and tags
# declared in Liquibase masters: a tagDatabase changeSet in XML, YAML and
# JSON tags the database, deploy --to-tag stops after it and rollback
# --to-tag returns to it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('test_rollback');
$node->init;
$node->start;

my $dir = tempdir(CLEANUP => 1);
my ($rc, $out, $err);

sub write_file
{
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	return;
}

sub new_db
{
	my ($name) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	my ($r, $o, $e) = pgchange('init', '-d', connstr($node, $name));
	is($r, 0, "init $name") or diag($e);
	return connstr($node, $name);
}

sub query { return $node->safe_psql($_[0], $_[1]); }

# --------------------------------------------------------- --test-rollback --
my $cl = "$dir/changelog.sql";
write_file($cl, <<'EOF');
--liquibase formatted sql

--changeset erin:1
CREATE TABLE account (id int PRIMARY KEY);
--rollback DROP TABLE account;

--changeset erin:2 runInTransaction:false
CREATE INDEX CONCURRENTLY account_id ON account (id);
--rollback DROP INDEX CONCURRENTLY account_id;

--changeset erin:3
INSERT INTO account VALUES (1), (2);
--rollback DELETE FROM account WHERE id IN (1, 2);

--changeset erin:4
CREATE TABLE audit (id int);
EOF
my $db = new_db('tested');
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--test-rollback');
is($rc, 4, '--test-rollback refuses a changeset without rollback');
like($err, qr/changelog\.sql:15: changeset changelog\.sql::4::erin has no rollback, so --test-rollback cannot test it/,
	'naming FILE:LINE and the changeset');
is(query('tested', 'SELECT count(*) FROM pgchange.registry'), '0', 'before anything runs');

write_file($cl, slurp_file($cl) . "--rollback DROP TABLE audit;\n");
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--test-rollback', '--json');
is($rc, 0, 'deploy --test-rollback') or diag($err);
my $r = decode_json($out);
is(join(',', map { "$_->{id}:$_->{result}" } @{ $r->{changesets} }),
	'1:tested,2:tested,3:tested,4:tested', 'every changeset was tested');
is(query('tested', 'SELECT count(*) FROM account'), '2', 'and stays deployed, once');
is( query(
		'tested',
		"SELECT string_agg(kind || ':' || (detail->>'id'), ',' ORDER BY event_id) FROM pgchange.events "
		  . "WHERE kind IN ('changeset', 'rollback') AND deployment_id = $r->{deployment_id}"),
	'changeset:1,rollback:1,changeset:1,changeset:2,rollback:2,changeset:2,'
	  . 'changeset:3,rollback:3,changeset:3,changeset:4,rollback:4,changeset:4',
	'each step is recorded: deploy, rollback, deploy again');
is(query('tested', 'SELECT count(*) FROM pgchange.progress'), '0', 'no progress is left');

# a rollback that leaves something behind fails the test
write_file($cl, slurp_file($cl) . <<'EOF');

--changeset erin:5
CREATE TABLE leftover (id int);
CREATE TABLE kept (id int);
--rollback DROP TABLE leftover;
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--test-rollback');
is($rc, 1, 'a rollback that forgets a table fails the test');
like($err, qr/relation "kept" already exists/, 'deploying it again says why');
like($err, qr/hint: --test-rollback: changeset changelog\.sql::5::erin could not be deployed again after its rollback/,
	'and names the changeset');
is(query('tested', "SELECT count(*) FROM pgchange.registry WHERE changeset_id = '5'"), '0',
	'it is not recorded');

# a rollback that fails fails the test
write_file($cl, slurp_file($cl) =~ s/--rollback DROP TABLE leftover;/--rollback DROP TABLE nothing_here;/r);
query('tested', 'DROP TABLE kept');
($rc, $out, $err) = pgchange('deploy', '-c', $cl, '-d', $db, '--test-rollback');
is($rc, 1, 'a rollback that errors fails the test');
like($err, qr/rollback of changeset changelog\.sql::5::erin failed.*table "nothing_here" does not exist/s,
	'with the server error');
is(query('tested', "SELECT count(*) FROM pgchange.registry WHERE changeset_id = '5'"), '1',
	'the changeset stays deployed, its rollback did not run');

# ------------------------------------------------ tagDatabase in masters --
write_file("$dir/c1.sql", "CREATE TABLE m1 (id int);\n");
write_file("$dir/c2.sql", "CREATE TABLE m2 (id int);\n");
my %masters = (
	'master.xml' => <<'EOF',
<?xml version="1.0" encoding="UTF-8"?>
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
  <changeSet id="1" author="x">
    <sqlFile path="c1.sql" relativeToChangelogFile="true"/>
    <rollback>DROP TABLE m1;</rollback>
  </changeSet>
  <changeSet id="tag-1.0" author="x">
    <tagDatabase tag="1.0"/>
  </changeSet>
  <changeSet id="2" author="x">
    <sqlFile path="c2.sql" relativeToChangelogFile="true"/>
    <rollback>DROP TABLE m2;</rollback>
  </changeSet>
</databaseChangeLog>
EOF
	'master.yaml' => <<'EOF',
databaseChangeLog:
  - changeSet:
      id: 1
      author: x
      changes:
        - sqlFile:
            path: c1.sql
            relativeToChangelogFile: true
      rollback: DROP TABLE m1;
  - changeSet:
      id: tag-1.0
      author: x
      changes:
        - tagDatabase:
            tag: "1.0"
  - changeSet:
      id: 2
      author: x
      changes:
        - sqlFile:
            path: c2.sql
            relativeToChangelogFile: true
      rollback: DROP TABLE m2;
EOF
	'master.json' => <<'EOF',
{"databaseChangeLog": [
  {"changeSet": {"id": "1", "author": "x",
    "changes": [{"sqlFile": {"path": "c1.sql", "relativeToChangelogFile": true}}],
    "rollback": "DROP TABLE m1;"}},
  {"changeSet": {"id": "tag-1.0", "author": "x",
    "changes": [{"tagDatabase": {"tag": "1.0"}}]}},
  {"changeSet": {"id": "2", "author": "x",
    "changes": [{"sqlFile": {"path": "c2.sql", "relativeToChangelogFile": true}}],
    "rollback": "DROP TABLE m2;"}}
]}
EOF
);
my $n = 0;
for my $name (sort keys %masters)
{
	my $master = "$dir/$name";
	write_file($master, $masters{$name});
	my $dbname = 'tags_' . ++$n;
	my $conn = new_db($dbname);
	($rc, $out, $err) = pgchange('deploy', '-c', $master, '-d', $conn, '--to-tag', '1.0');
	is($rc, 0, "$name: deploy --to-tag 1.0") or diag($err);
	is( query($dbname,
			"SELECT string_agg(changeset_id || ':' || coalesce(tag, ''), ',' ORDER BY exec_order) FROM pgchange.registry"),
		'1:,tag-1.0:1.0', "$name: up to and including the tagDatabase changeSet, which carries the tag");
	($rc, $out, $err) = pgchange('deploy', '-c', $master, '-d', $conn);
	is($rc, 0, "$name: deploy the rest") or diag($err);
	($rc, $out, $err) = pgchange('rollback', '-c', $master, '-d', $conn, '--to-tag', '1.0');
	is($rc, 0, "$name: rollback --to-tag 1.0") or diag($err);
	is( query($dbname,
			"SELECT string_agg(changeset_id, ',' ORDER BY exec_order) || ' ' || (to_regclass('m2') IS NULL) FROM pgchange.registry"),
		'1,tag-1.0 true', "$name: back at the tag");
	($rc, $out, $err) = pgchange('rollback', '-c', $master, '-d', $conn, '--count', '2');
	is($rc, 0, "$name: a tagDatabase changeSet rolls back as nothing to undo") or diag($err);
	like($out, qr/unrecorded +\S*::tag-1\.0::x/, "$name: it is only unrecorded");
}

# a tagDatabase beside an sqlFile is refused, as Liquibase refuses it
write_file("$dir/bad.xml", <<'EOF');
<?xml version="1.0" encoding="UTF-8"?>
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
  <changeSet id="1" author="x">
    <sqlFile path="c1.sql" relativeToChangelogFile="true"/>
    <tagDatabase tag="1.0"/>
  </changeSet>
</databaseChangeLog>
EOF
($rc, $out, $err) = pgchange('deploy', '-c', "$dir/bad.xml", '-d', connstr($node, 'tags_1'), '--dry-run');
is($rc, 2, 'a changeSet with tagDatabase and sqlFile is invalid input');
like($err, qr/bad\.xml:3: changeSet 1 holds tagDatabase and sqlFile/, 'naming FILE:LINE');

$node->stop;
done_testing();
