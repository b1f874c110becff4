# End to end: what makes deploy and status fast without making them less
# safe (issue #4).  The statements a no-op deploy and a status send (one
# handshake, no empty deployment); synchronous_commit off for changesets run
# inside the database only; a crash in the middle of a deploy loses whole
# changesets with their registry rows, and a finished deploy survives an
# immediate crash; the identity mode read before the lock is checked under
# it; the handshake's slow path still names what is wrong.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('fast_path');
$node->init;
# every statement in the log; async commits stay unflushed for long, so a
# crash right after a deploy loses what its end did not flush
$node->append_conf('postgresql.conf', "log_statement = 'all'\nwal_writer_delay = 10s\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $db = connstr($node, 'app');
my ($rc, $out, $err) = pgchange('init', '-d', $db);
is($rc, 0, 'init');

my $dir = tempdir(CLEANUP => 1);

sub write_file
{
	my ($name, $text) = @_;
	open my $fh, '>', "$dir/$name" or die;
	print $fh $text;
	close $fh;
	return "$dir/$name";
}

# n changesets by author prefix, a table each; the 5th runs statement by
# statement
sub changelog
{
	my ($name, $n, $prefix) = @_;
	my $text = "--liquibase formatted sql\n";
	for my $i (1 .. $n)
	{
		my $nt = $i == 5 ? ' runInTransaction:false' : '';
		$text .= "\n--changeset $prefix:$i$nt\nCREATE TABLE ${prefix}_$i (id int);\n";
		$text .= "CREATE INDEX CONCURRENTLY ${prefix}_${i}_id ON ${prefix}_$i (id);\n" if $i == 5;
	}
	return write_file($name, $text);
}

# the statements the server ran for a command, in order
sub statements_of
{
	my @cmd = @_;
	my $offset = -s $node->logfile;
	my @r = pgchange(@cmd);
	my $log = slurp_file($node->logfile, $offset);
	my @stmts = $log =~ /LOG:\s+(?:statement|execute [^:]*):\s+(.*)/g;
	return (\@r, \@stmts);
}

# --- a deploy: synchronous_commit off around in-database changesets only ---
my $cl = changelog('a.sql', 12, 'a');
my ($r, $stmts) = statements_of('deploy', '-p', 'fast', '-c', $cl, '-d', $db);
is($r->[0], 0, 'deploy of 12 changesets') or diag($r->[1] . $r->[2]);
my $async = 0;
my %seen;
for my $s (@$stmts)
{
	if ($s =~ /^SET synchronous_commit = off/) { $async = 1; next; }
	if ($s =~ /^RESET synchronous_commit/) { $async = 0; next; }
	my $kind =
		$s =~ /pgchange\.run_changeset/ ? 'run_changeset'
	  : $s =~ /CREATE INDEX CONCURRENTLY/ ? 'statement by statement'
	  : $s =~ /pgchange\.record_progress/ ? 'record_progress'
	  : $s =~ /pgchange\.finish_deployment/ ? 'finish_deployment'
	  : $s =~ /pgchange\.(lock|unlock)\(/ ? $1
	  : next;
	push @{ $seen{$kind} }, $async;
}
is(scalar @{ $seen{run_changeset} // [] }, 11, 'eleven changesets ran inside the database');
is_deeply([ grep { !$_ } @{ $seen{run_changeset} } ], [],
	'each with synchronous_commit off');
is_deeply($seen{'statement by statement'}, [0],
	'the runInTransaction:false one with the session setting');
ok(@{ $seen{record_progress} // [] } && !grep({ $_ } @{ $seen{record_progress} }),
	'and so is its progress, statement by statement');
is_deeply($seen{finish_deployment}, [0], 'finish_deployment commits with the session setting');
is_deeply($seen{lock}, [1], 'the lock is taken with synchronous_commit off');
is_deeply($seen{unlock}, [0], 'and released, after finish_deployment, with the session setting');

# a finished deploy is durable, even though its changesets were not flushed
$node->stop('immediate');
$node->start;
is($node->safe_psql('app',
		"SELECT count(*) FROM pgchange.registry WHERE project = 'fast'"),
	'12', 'after an immediate crash right after the deploy, all 12 registry rows are there');
is($node->safe_psql('app',
		"SELECT count(*) FROM pg_class WHERE relname ~ '^a_[0-9]+\$' AND relkind = 'r'"),
	'12', 'and all 12 tables');
is($node->safe_psql('app',
		"SELECT status FROM pgchange.deployments ORDER BY deployment_id DESC LIMIT 1"),
	'succeeded', 'and the deployment is recorded as succeeded');

# --- a no-op deploy and status: what they send ------------------------------
my $deployments = $node->safe_psql('app', 'SELECT count(*) FROM pgchange.deployment_log');
($r, $stmts) = statements_of('deploy', '-p', 'fast', '-c', $cl, '-d', $db);
is($r->[0], 0, 'a no-op deploy exits 0');
like($r->[1], qr/project fast is up to date/, 'and says it is up to date');
is(scalar @$stmts, 5, 'a no-op deploy sends five statements')
  or diag(join("\n", @$stmts));
like($stmts->[0], qr/^SELECT e\.extversion, pgchange\.version\(\), .*identity_mode.*::interval/,
	'1: the handshake: versions, identity mode and --lock-wait at once');
unlike(join("\n", @$stmts), qr/pg_available_extensions/,
	'pg_available_extensions (every control file of the server) is not read');
like($stmts->[1], qr/^SET synchronous_commit = off/, '2: no WAL flush for the lock');
like($stmts->[2], qr/pgchange\.lock\(/, '3: the lock');
like($stmts->[3], qr/pgchange\.validate\(/, '4: validate');
like($stmts->[4], qr/pgchange\.unlock\(/, '5: unlock');
is($node->safe_psql('app', 'SELECT count(*) FROM pgchange.deployment_log'),
	$deployments, 'no empty deployment is recorded');

($r, $stmts) = statements_of('status', '-p', 'fast', '-c', $cl, '-d', $db);
is($r->[0], 0, 'status exits 0');
is(scalar @$stmts, 2, 'status sends two statements: the handshake and validate')
  or diag(join("\n", @$stmts));

($r, $stmts) = statements_of('deploy', '-p', 'fast', '-c', $cl, '-d', $db, '--json');
like($r->[1], qr/"status":\s*"up to date"/, 'no-op deploy --json: status up to date');
like($r->[1], qr/"deployment_id":\s*null/, 'and no deployment id');

# --- a crash in the middle of a deploy ---------------------------------------
$cl = changelog('b.sql', 600, 'b');
my ($bout, $berr) = ('', '');
my $h = IPC::Run::start([ 'pgchange', 'deploy', '-p', 'crash', '-c', $cl, '-d', $db, '-q' ],
	'<', \undef, '>', \$bout, '2>', \$berr);
ok($node->poll_query_until('app',
		"SELECT count(*) >= 40 FROM pgchange.registry WHERE project = 'crash'"),
	'a deploy of 600 changesets is under way');
$node->stop('immediate');
$h->finish;
isnt($h->full_result(0) >> 8, 0, 'the deploy fails when the server goes away');
$node->start;
my ($tables, $rows, $mismatch) = split /\|/, $node->safe_psql('app', q{
	SELECT count(*) FILTER (WHERE c.oid IS NOT NULL), count(*) FILTER (WHERE r.changeset_id IS NOT NULL),
		   count(*) FILTER (WHERE (c.oid IS NULL) <> (r.changeset_id IS NULL))
	  FROM generate_series(1, 600) AS i
	  LEFT JOIN pg_class c ON c.relname = 'b_' || i AND c.relkind = 'r'
	  LEFT JOIN pgchange.registry r ON r.project = 'crash' AND r.changeset_id = i::text});
note("after the crash: $tables tables, $rows registry rows");
cmp_ok($rows, '<', 600, 'the crash stopped the deploy part way');
is($mismatch, 0,
	'every changeset that survived the crash has its registry row, and every registry row its changeset');
($rc, $out, $err) = pgchange('deploy', '-p', 'crash', '-c', $cl, '-d', $db, '-q');
is($rc, 0, 'the next deploy runs what the crash lost') or diag($err);
is($node->safe_psql('app', "SELECT count(*) FROM pgchange.registry WHERE project = 'crash'"),
	'600', 'all 600 are applied then');

# --- the identity mode is checked again under the lock -----------------------
$cl = changelog('c.sql', 3, 'c');
my ($hout, $herr) = ('', '');
my $hold = IPC::Run::start([ 'pgchange', 'lock', 'acquire', '--hold', '-p', 'race', '-d', $db ],
	'<', \undef, '>', \$hout, '2>', \$herr);
ok($node->poll_query_until('app',
		"SELECT state = 'locked' FROM pgchange.lock_status() WHERE project = 'race'"),
	'another session holds the lock of a new project');
my ($dout, $derr) = ('', '');
my $deploy = IPC::Run::start([ 'pgchange', 'deploy', '-p', 'race', '-c', $cl, '-d', $db,
		'--lock-wait', '60s' ], '<', \undef, '>', \$dout, '2>', \$derr);
ok(pump_until($deploy, IPC::Run::timer(30), \$derr, qr/waiting up to/),
	'a deploy reads the identity mode (id_author), then waits for the lock');
$node->safe_psql('app', "SELECT pgchange.set_identity_mode('race', 'path')");
$hold->signal('TERM');
$hold->finish;
$deploy->finish;
isnt($deploy->full_result(0) >> 8, 0, 'the identity mode changed meanwhile: the deploy stops');
like($derr, qr/the identity mode of project "race" changed to path/, 'saying why');
is($node->safe_psql('app', "SELECT count(*) FROM pgchange.registry WHERE project = 'race'"),
	'0', 'nothing of it ran');
($rc, $out, $err) = pgchange('deploy', '-p', 'race', '-c', $cl, '-d', $db, '-q');
is($rc, 0, 'run again, it deploys in path mode') or diag($err);
is($node->safe_psql('app',
		"SELECT count(*) FROM pgchange.registry WHERE project = 'race' AND identity_path <> ''"),
	'3', 'with the path in the identity');

# --- the handshake's slow path says what is wrong -----------------------------
$node->safe_psql('postgres', 'CREATE DATABASE bare');
($rc, $out, $err) = pgchange('status', '-c', $cl, '-d', connstr($node, 'bare'));
is($rc, 1, 'status in a database without the extension exits 1');
like($err, qr/extension "pgchange" is not installed in database "bare"/, 'naming the database');
like($err, qr/hint: Run "pgchange init"/, 'with the command that fixes it');
($rc, $out, $err) = pgchange('deploy', '-p', 'fast', '-c', $cl, '-d', $db, '--lock-wait', 'soon');
is($rc, 2, 'an invalid --lock-wait exits 2');
like($err, qr/invalid input syntax for type interval: "soon"/, 'with the server\'s message');
($rc, $out, $err) = pgchange('deploy', '-p', 'fast', '-c', $cl, '-d', $db, '--lock-wait', '-5s');
is($rc, 2, 'a negative --lock-wait exits 2');
like($err, qr/--lock-wait "-5s": it must not be negative/, 'saying so');
$node->safe_psql('app', "CREATE ROLE nobody_much LOGIN");
($rc, $out, $err) = pgchange('status', '-c', $cl, '-d', connstr($node, 'app') . ' user=nobody_much');
is($rc, 1, 'status by a role without pgchange_reader exits 1');
like($err, qr/permission denied/, 'with the server\'s message');

$node->stop;
done_testing();
