# End to end: pgchange --version/--help, ping, init, connection options.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PgChangeTest;

my ($rc, $out, $err);

# --- without a database -------------------------------------------------
($rc, $out) = pgchange('--version');
is($rc, 0, '--version exits 0');
like($out, qr/^pgchange \d+\.\d+\.\d+$/m, '--version prints the version');

($rc, $out) = pgchange('--help');
is($rc, 0, '--help exits 0');
like($out, qr/^\s+ping\s/m, '--help lists ping');
like($out, qr/^\s+init\s/m, '--help lists init');

($rc, $out) = pgchange('help', 'ping');
is($rc, 0, 'help ping exits 0');
like($out, qr/Usage:\n  pgchange ping/, 'help ping shows its usage');

($rc, $out, $err) = pgchange('nosuchcommand');
is($rc, 2, 'unknown command is a usage error (exit 2)');
like($err, qr/unknown command "nosuchcommand"/, 'unknown command is named');
like($err, qr/hint: Try "pgchange --help"/, 'usage error gives a hint');

($rc, $out, $err) = pgchange('ping', '--no-such-option');
is($rc, 2, 'unknown option is a usage error (exit 2)');
like($err, qr/pgchange help ping/, 'the hint names the command help');

# exit codes documented in docs/cli.md match the table in the binary
($rc, $out) = pgchange('help', 'exit-codes');
my @codes = $out =~ /^\s+(\d)\s+(\S+)/mg;
my %codes = @codes;
is_deeply([ sort keys %codes ], [ 0 .. 8 ], 'exit codes 0..8 are defined');
my $doc = slurp_file(srcdir() . '/docs/cli.md');
for my $c (sort keys %codes)
{
	like($doc, qr/^\|\s*$c\s*\|\s*`$codes{$c}`\s*\|/m, "docs/cli.md documents exit code $c ($codes{$c})");
}

# --- against a cluster --------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $app = connstr($node, 'app');

($rc, $out, $err) = pgchange('ping', '-d', $app);
is($rc, 1, 'ping without the extension exits 1');
like($err, qr/extension "pgchange" is not installed in database "app"/, 'ping names the missing extension');
like($err, qr/hint: Run "pgchange init"/, 'ping hints at pgchange init');

($rc, $out, $err) = pgchange('init', '-d', $app);
is($rc, 0, 'init exits 0');
like($out, qr/action:\s+created/, 'init reports that it created the extension');
is($node->safe_psql('app', "SELECT extversion FROM pg_extension WHERE extname = 'pgchange'"),
	(pgchange('--version'))[1] =~ /(\d+\.\d+\.\d+)/ ? $1 : 'x', 'the installed version is the controller version');

($rc, $out) = pgchange('init', '-d', $app);
is($rc, 0, 'a second init exits 0');
like($out, qr/action:\s+unchanged/, 'a second init changes nothing');

($rc, $out, $err) = pgchange('ping', '-d', $app);
is($rc, 0, 'ping after init exits 0');
like($out, qr/^server:\s+\d+/m, 'ping reports the server version');
like($out, qr/^extension:\s+\d+\.\d+\.\d+/m, 'ping reports the extension version');

# global options after the command, and --json
($rc, $out) = pgchange('ping', '--json', '-d', $app);
is($rc, 0, 'ping --json exits 0');
my $j = decode_json($out);
is($j->{ok}, JSON::PP::true, 'ping --json: ok is true');
is($j->{database}, 'app', 'ping --json: database');
like($j->{server_version_num}, qr/^\d{6}$/, 'ping --json: server_version_num');
is($j->{extension_version}, $j->{controller_version}, 'ping --json: versions agree');

# a stale extension: ping refuses with the update hint
$node->safe_psql('app', "UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'pgchange'");
($rc, $out, $err) = pgchange('ping', '-d', $app);
is($rc, 1, 'ping against a mismatched extension version exits 1');
like($err, qr/version 0\.0\.1 does not match the controller's version/, 'the mismatch is named');
like($err, qr/hint: Run "pgchange init" to update/, 'the hint names pgchange init');
$node->safe_psql('app', "DROP EXTENSION pgchange");

# concurrent inits: both succeed, one creates
{
	my @h;
	my @outs = ('', '');
	for my $i (0, 1)
	{
		push @h, IPC::Run::start([ 'pgchange', 'init', '-d', $app ], '>', \$outs[$i], '2>', \$outs[$i]);
	}
	my @rcs = map { $_->finish; $_->full_result(0) >> 8 } @h;
	is_deeply(\@rcs, [ 0, 0 ], 'two concurrent inits both succeed') or diag(join("\n", @outs));
	is(scalar(grep { /action:\s+created/ } @outs), 1, 'exactly one of them created the extension');
}

# --- connection options as psql takes them -------------------------------
my $host = $node->host;
my $port = $node->port;

# URI
($rc) = pgchange('ping', '-d', "postgresql:///app?host=$host&port=$port");
is($rc, 0, 'a URI works');

# PG* environment variables only
($rc) = pgchange('ping', { env => { PGHOST => $host, PGPORT => $port, PGDATABASE => 'app' } });
is($rc, 0, 'PGHOST/PGPORT/PGDATABASE work');

# service file
my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/pg_service.conf" or die;
print $fh "[appsvc]\nhost=$host\nport=$port\ndbname=app\n";
close $fh;
($rc) = pgchange('ping', '-d', 'service=appsvc',
	{ env => { PGSERVICEFILE => "$dir/pg_service.conf", PGHOST => undef, PGPORT => undef } });
is($rc, 0, 'a service from PGSERVICEFILE works');

# .pgpass with password authentication; the password is never printed
$node->safe_psql('postgres', "CREATE ROLE deployer LOGIN PASSWORD 's3cr3t-pw'");
$node->append_conf('pg_hba.conf', '');
my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
open $fh, '>', $node->data_dir . '/pg_hba.conf' or die;
print $fh "local all deployer scram-sha-256\n$hba";
close $fh;
$node->reload;
($rc, $out, $err) = pgchange('ping', '-d', "host=$host port=$port dbname=app user=deployer",
	{ env => { PGPASSFILE => "$dir/none" } });
is($rc, 1, 'without a password, password authentication fails');
like($err, qr/password/i, 'the error says a password is needed');
open $fh, '>', "$dir/pgpass" or die;
print $fh "*:*:*:deployer:s3cr3t-pw\n";
close $fh;
chmod 0600, "$dir/pgpass";
($rc, $out, $err) = pgchange('ping', '-d', "host=$host port=$port dbname=app user=deployer",
	{ env => { PGPASSFILE => "$dir/pgpass" } });
is($rc, 0, '.pgpass (PGPASSFILE) supplies the password');
unlike($out . $err, qr/s3cr3t-pw/, 'the password is never printed');
($rc, $out, $err) = pgchange('ping', '-d', "postgresql://deployer:wrong-pw\@/app?host=$host&port=$port");
is($rc, 1, 'a wrong password in the URI fails');
unlike($out . $err, qr/wrong-pw/, 'a password from the URI is not printed either');

$node->stop;
done_testing();
