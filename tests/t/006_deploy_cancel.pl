# End to end: Ctrl-C during a deploy cancels the running statement through
# libpq, records nothing false (the changeset is not in the registry, the
# deployment is "aborted") and releases the lock.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->start;
my $db = connstr($node, 'postgres');
my ($rc) = pgchange('init', '-d', $db);
is($rc, 0, 'init');

my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/changelog.sql" or die;
print $fh <<'EOF2';
--liquibase formatted sql

--changeset alice:1
CREATE TABLE fast (id int);

--changeset alice:2
CREATE TABLE slow (id int);
SELECT pg_sleep(60);
EOF2
close $fh;

my ($out, $err) = ('', '');
my $start = time;
my $h = IPC::Run::start([ 'pgchange', 'deploy', '-c', "$dir/changelog.sql", '-d', $db ],
	'>', \$out, '2>', \$err);

# wait until the slow changeset is running, then press Ctrl-C
my $running = 0;
for (1 .. 100)
{
	$running = $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%run_changeset%' AND state = 'active' AND pid <> pg_backend_pid()");
	last if $running;
	sleep 0.1;
}
is($running, '1', 'the slow changeset is running');
$h->signal('INT');
$h->finish;
my $elapsed = time - $start;
note("pgchange deploy => " . ($h->full_result(0) >> 8) . "\n$out$err");

is($h->full_result(0) >> 8, 1, 'a canceled deploy exits 1');
ok($elapsed < 30, 'Ctrl-C stopped the 60 s statement at once');
like($err, qr/canceling statement due to user request/, 'the cancellation is reported');
is($node->safe_psql('postgres', "SELECT string_agg(changeset_id, ',') FROM pgchange.history"), '1',
	'only the changeset that finished is recorded');
is($node->safe_psql('postgres', "SELECT to_regclass('slow') IS NULL"), 't', 'the canceled changeset rolled back');
is($node->safe_psql('postgres', "SELECT status FROM pgchange.deployments"), 'aborted',
	'the deployment is recorded as aborted');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL"), '0',
	'the lock is released');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"),
	'0', 'nothing is left running on the server');

$node->stop;
done_testing();
