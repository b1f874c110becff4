# End to end: pgchange history (changesets, newest first) and
# history --deployments, over changesets recorded through the SQL API as a
# deploy would (lock, begin_deployment, record_changeset, finish_deployment).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use PgChangeTest;

my ($rc, $out, $err);

# a regex for the header line of a psql-style table with these columns
sub header
{
	my $cols = join('\s*\|\s*', map { quotemeta } @_);
	return qr/^\s*$cols\s*$/m;
}

# timestamps in the output, whatever the machine's zone
$ENV{PGTZ} = 'UTC';

my $node = PostgreSQL::Test::Cluster->new('history');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE bare');
my $db = connstr($node, 'postgres');

# --- without the extension ------------------------------------------------
($rc, $out, $err) = pgchange('history', '-d', connstr($node, 'bare'));
is($rc, 1, 'history without the extension exits 1');
like($err, qr/extension "pgchange" is not installed in database "bare"/, 'naming the missing extension');
like($err, qr/hint: Run "pgchange init"/, 'with the init hint');

# --- two deployments of "app", one of "other" ---------------------------------
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgchange;
	CREATE ROLE ci LOGIN IN ROLE pgchange_deployer;
	CREATE ROLE auditor LOGIN IN ROLE pgchange_reader;
});
$node->safe_psql('postgres', q{
	SET SESSION AUTHORIZATION ci;
	SELECT pgchange.lock('app', 'ci', 'deploy');
	SELECT pgchange.begin_deployment('app', metadata => '{"git_sha": "1111111"}',
									 client_host => 'runner-1') AS dep \gset
	SELECT pgchange.record_changeset('app', :dep, 'create-customer', 'alice', 'db/001.sql',
									 pgchange.checksum('CREATE TABLE customer (id int);'),
									 duration => '0.25 s');
	SELECT pgchange.record_changeset('app', :dep, 'create-orders', 'bob', 'db/002.sql',
									 pgchange.checksum('CREATE TABLE orders (id int);'));
	SELECT pgchange.finish_deployment(:dep, 'succeeded');
	SELECT pgchange.begin_deployment('app', metadata => '{"git_sha": "2222222"}',
									 client_host => 'runner-2') AS dep \gset
	SELECT pgchange.record_changeset('app', :dep, 'index-orders', 'alice', 'db/003.sql',
									 pgchange.checksum('CREATE INDEX ON orders (id);'),
									 exec_type => 'mark_ran');
	SELECT pgchange.finish_deployment(:dep, 'failed', 'something broke');
	SELECT pgchange.lock('other', 'ci');
	SELECT pgchange.begin_deployment('other') AS dep \gset
	SELECT pgchange.record_changeset('other', :dep, 'other-1', 'carol', 'other/001.sql', '1:ab');
	SELECT pgchange.finish_deployment(:dep, 'succeeded');
});

# --- changesets --------------------------------------------------------------
($rc, $out, $err) = pgchange('history', '-p', 'app', '-d', $db);
is($rc, 0, 'history exits 0');
like($out, qr/Changesets of project "app", newest first/, 'the title names the project');
like($out, header(qw(exec_order changeset_id author path exec_type applied_at applied_by
			duration deployment_id tag)), 'the columns a person wants');
like($out, qr/index-orders.*\n.*create-orders.*\n.*create-customer/, 'newest first');
like($out, qr/\| mark_ran\s+\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00 \| ci\s+\|/, 'applied_at to the second, applied_by');
like($out, qr/create-customer \| alice\s+\| db\/001\.sql \| executed\s+\| [^|]+\| ci\s+\| 00:00:00\.25/, 'the duration');
unlike($out, qr/other-1/, 'another project\'s changesets are not listed');
like($out, qr/\(3 rows\)/, 'three rows');

($rc, $out) = pgchange('history', '--limit', '1', '-p', 'app', '-d', $db);
is($rc, 0, 'history --limit 1 exits 0');
like($out, qr/index-orders/, '--limit 1 shows the newest');
unlike($out, qr/create-orders|create-customer/, '--limit 1 shows only the newest');
like($out, qr/\(1 row\)/, 'one row');

($rc, $out) = pgchange('history', '--json', '-p', 'app', '-d', $db);
is($rc, 0, 'history --json exits 0');
my $rows = decode_json($out);
is(scalar(@$rows), 3, 'history --json: three changesets');
is_deeply([ map { $_->{changeset_id} } @$rows ], [qw(index-orders create-orders create-customer)],
	'history --json: newest first');
ok(exists $rows->[0]{$_}, "history --json has key $_")
  for qw(project exec_order changeset_id author path exec_type applied_at applied_by
  duration checksum tag comment deployment_id deployment_metadata);
ok($rows->[0]{exec_order} > $rows->[1]{exec_order}, 'history --json: exec_order is a number, descending');
is($rows->[0]{deployment_metadata}{git_sha}, '2222222', 'history --json: deployment metadata is JSON');
like($rows->[2]{checksum}, qr/^1:[0-9a-f]{64}$/, 'history --json: checksum');
like($rows->[0]{applied_at}, qr/\.\d+\+00$/, 'history --json: applied_at at full precision');

($rc, $out) = pgchange('history', '--all', '-d', $db);
is($rc, 0, 'history --all exits 0');
like($out, qr/Changesets of all projects/, 'the title says all projects');
like($out, qr/^\s*project\s+\|\s+exec_order\s/m, '--all adds the project column');
like($out, qr/other\s+\|.*other-1.*\n.*app\s+\|.*index-orders/, '--all: every project, newest first');

($rc, $out) = pgchange('history', '-p', 'none', '-d', $db);
is($rc, 0, 'history of a project without changesets exits 0');
like($out, qr/\(0 rows\)/, 'and shows no rows');
($rc, $out) = pgchange('history', '--json', '-p', 'none', '-d', $db);
is_deeply(decode_json($out), [], 'history --json of an empty project is []');

($rc, $out) = pgchange('history', '-p', 'app', '-d', "$db user=auditor");
is($rc, 0, 'a pgchange_reader may read the history');

# --- deployments -------------------------------------------------------------
($rc, $out) = pgchange('history', '--deployments', '-p', 'app', '-d', $db);
is($rc, 0, 'history --deployments exits 0');
like($out, qr/Deployments of project "app", newest first/, 'the title says deployments');
like($out, header('id', 'kind', 'status', 'started', 'duration', 'by', 'client host',
		'changesets', 'metadata'), 'the columns a person wants');
like($out, qr/failed.*runner-2.*\n.*succeeded.*runner-1/, 'newest first, with status and client host');
like($out, qr/\| ci\s+\| runner-1\s+\|\s+2 \| \{"git_sha": "1111111"\}/, 'by, changesets, metadata');
like($out, qr/\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00 \| \d\d:\d\d:\d\d(\.\d{1,3})? \|/, 'started to the second, duration to the millisecond');
unlike($out, qr/other/, 'another project\'s deployments are not listed');

($rc, $out) = pgchange('history', '--deployments', '--json', '--limit', '1', '-p', 'app', '-d', $db);
is($rc, 0, 'history --deployments --json exits 0');
$rows = decode_json($out);
is(scalar(@$rows), 1, '--limit applies to deployments');
is($rows->[0]{status}, 'failed', 'the newest deployment');
is($rows->[0]{error}, 'something broke', 'with its error');
is($rows->[0]{changesets}, 1, 'changesets is a number');
is($rows->[0]{metadata}{git_sha}, '2222222', 'metadata is JSON');
ok(exists $rows->[0]{$_}, "history --deployments --json has key $_")
  for qw(deployment_id project kind started_at finished_at duration deployed_by client_host
  client_addr application_name controller_version);

($rc, $out) = pgchange('history', '--deployments', '--all', '-d', $db);
like($out, qr/^\s*id\s+\|\s+project\s+\|\s+kind\s/m, '--deployments --all adds the project column');
like($out, qr/other/, '--deployments --all lists every project');

# --- usage errors --------------------------------------------------------------
for my $bad ('0', 'abc', '-1', '1x', '99999999999999999999999')
{
	($rc, $out, $err) = pgchange('history', '--limit', $bad, '-d', $db);
	is($rc, 2, "--limit $bad is a usage error");
}
like($err, qr/--limit must be a positive integer/, 'the error explains --limit');
like($err, qr/hint: Try "pgchange help history"/, 'and hints at the help');
($rc, $out, $err) = pgchange('history', 'extra', '-d', $db);
is($rc, 2, 'a positional argument is a usage error');

$node->stop;
done_testing();
