# End to end: pgchange lock status|acquire|release|freeze|unfreeze against a
# real cluster, with three login roles (two deployers, one admin): a lock
# held by a background `acquire --hold`, released by signals, freed by the
# holder's death, broken by an admin; freezes; JSON; exit codes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time);
use PgChangeTest;

my ($rc, $out, $err);

# timestamps in messages and output, whatever the machine's zone
$ENV{PGTZ} = 'UTC';

my $node = PostgreSQL::Test::Cluster->new('lock');
$node->init;
$node->start;
my $db = connstr($node, 'postgres');
my %as = map { $_ => "$db user=$_" } qw(alice bob boss);

# --- without the extension ----------------------------------------------
($rc, $out, $err) = pgchange('lock', 'status', '-d', $db);
is($rc, 1, 'lock status without the extension exits 1');
like($err, qr/hint: Run "pgchange init"/, 'and hints at pgchange init');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pgchange;
	CREATE ROLE alice LOGIN IN ROLE pgchange_deployer;
	CREATE ROLE bob LOGIN IN ROLE pgchange_deployer;
	CREATE ROLE boss LOGIN IN ROLE pgchange_admin;
});

# --- usage ---------------------------------------------------------------
($rc, $out) = pgchange('help', 'lock');
is($rc, 0, 'help lock exits 0');
like($out, qr/^\s+$_\s/m, "help lock lists $_") for qw(status acquire release freeze unfreeze);
($rc, $out) = pgchange('help', 'lock', 'acquire');
like($out, qr/--hold/, 'help lock acquire documents --hold');
like($out, qr/releases it at once/, 'help lock acquire says a plain acquire is only a check');
($rc, $out, $err) = pgchange('lock', '-d', $db);
is($rc, 2, 'lock without a subcommand is a usage error');
($rc, $out, $err) = pgchange('lock', 'grab', '-d', $db);
is($rc, 2, 'an unknown subcommand is a usage error');
like($err, qr/unknown subcommand "lock grab"/, 'the unknown subcommand is named');

# lock status of one project, as JSON
sub status_of
{
	my ($project) = @_;
	my ($rc, $out) = pgchange('lock', 'status', '--json', '--only', '-p', $project, '-d', $db);
	my $rows = decode_json($out);
	return $rows->[0];
}

# wait until the lock of "app" is in the given state
sub wait_state
{
	my ($state) = @_;
	return $node->poll_query_until('postgres',
		"SELECT state = '$state' FROM pgchange.lock_status() WHERE project = 'app'");
}

# start `lock acquire --hold` in the background
sub start_hold
{
	my ($role, @opts) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'pgchange', 'lock', 'acquire', '--hold', '-p', 'app',
			'-d', $as{$role}, @opts ], '<', \undef, '>', \$out, '2>', \$err);
	return { h => $h, out => \$out, err => \$err };
}

sub finish_rc
{
	my ($p) = @_;
	$p->{h}->finish;
	note("background pgchange => " . ($p->{h}->full_result(0) >> 8) . "\n${$p->{out}}${$p->{err}}");
	return $p->{h}->full_result(0);
}

# --- status ----------------------------------------------------------------
($rc, $out) = pgchange('lock', 'status', '-p', 'app', '-d', $db);
is($rc, 0, 'lock status exits 0');
like($out, qr/^ \* \| app\s+\| free/m, 'status lists the -p project, marked, even before first use');
my $st = status_of('app');
is($st->{state}, 'free', 'status --json: state free');
is($st->{current}, JSON::PP::true, 'status --json: the -p project is current');
ok(exists $st->{$_}, "status --json has key $_")
  for qw(project owner reason holder_role pid client_addr application_name since
  lease_until holder_alive frozen_until frozen_by freeze_reason);

# --- acquire as a check ----------------------------------------------------
($rc, $out, $err) = pgchange('lock', 'acquire', '-p', 'app', '-d', $as{alice}, '--reason', 'check');
is($rc, 0, 'acquire without --hold exits 0');
like($out, qr/^result:\s+acquired$/m, 'it reports the lock acquired');
like($out, qr/^held:\s+no$/m, 'and not held');
is(status_of('app')->{state}, 'free', 'the lock is free again afterwards (not stale)');

($rc, $out) = pgchange('lock', 'acquire', '--json', '-p', 'app', '-d', $as{alice}, '--owner', 'ci-42');
is($rc, 0, 'acquire --json exits 0');
my $j = decode_json($out);
is($j->{result}, 'acquired', 'acquire --json: result');
is($j->{owner}, 'ci-42', 'acquire --json: owner from --owner');
is($j->{role}, 'alice', 'acquire --json: role');
is($j->{held}, JSON::PP::false, 'acquire --json: held is false');
ok(exists $j->{$_}, "acquire --json has key $_") for qw(project reason pid since lease_until);

($rc, $out) = pgchange('lock', 'acquire', '-q', '-p', 'app', '-d', $as{alice});
is($rc, 0, 'acquire -q exits 0');
is($out, '', 'acquire -q prints nothing');

# --- invalid durations -----------------------------------------------------
($rc, $out, $err) = pgchange('lock', 'acquire', '--wait', 'soon', '-p', 'app', '-d', $as{alice});
is($rc, 2, 'an invalid --wait exits 2');
like($err, qr/invalid input syntax for type interval: "soon"/, 'with the server\'s message');
like($err, qr/hint: --wait and --lease take a PostgreSQL interval/, 'and a hint');
($rc, $out, $err) = pgchange('lock', 'acquire', '--lease', '10 days', '-p', 'app', '-d', $as{alice});
is($rc, 2, 'a lease over 7 days exits 2');
like($err, qr/A lease lasts from 1 second to 7 days/, 'with the server\'s detail');
($rc, $out, $err) = pgchange('lock', 'acquire', '--wait', '-5s', '-p', 'app', '-d', $as{alice});
is($rc, 2, 'a negative --wait exits 2');

# --- acquire --hold, a second acquire, waiting, SIGTERM ---------------------
my $hold = start_hold('alice', '--owner', 'alice-dba', '--reason', 'manual fix', '--lease', '3s');
ok(wait_state('locked'), 'acquire --hold takes the lock');
$st = status_of('app');
is($st->{owner}, 'alice-dba', 'status: owner');
is($st->{reason}, 'manual fix', 'status: reason');
is($st->{holder_role}, 'alice', 'status: holder role');
is($st->{holder_alive}, JSON::PP::true, 'status: holder alive');
($rc, $out) = pgchange('lock', 'status', '-p', 'app', '-d', $db);
like($out, qr/^ \* \| app\s+\| locked\s+\| alice-dba\s+\| manual fix/m, 'human status shows state, owner, reason');

($rc, $out, $err) = pgchange('lock', 'acquire', '-p', 'app', '-d', $as{bob});
is($rc, 3, 'a second acquire exits 3');
like($err, qr/error: project 'app' is locked by 'alice-dba'/, 'naming the holder');
like($err, qr/detail: .*for: manual fix\./, 'and the reason');
like($err, qr/hint: /, 'with the hint');

# the lease (3s) is renewed every second: still held well after it
sleep(4);
is($node->safe_psql('postgres',
		"SELECT state || ' ' || (lease_until > now()) FROM pgchange.lock_status() WHERE project = 'app'"),
	'locked true', '--hold renews the lease');

my ($wout, $werr) = ('', '');
my $t0 = time();
my $waiter = IPC::Run::start([ 'pgchange', 'lock', 'acquire', '--wait', '20s', '-p', 'app',
		'-d', $as{bob} ], '<', \undef, '>', \$wout, '2>', \$werr);
ok(pump_until($waiter, IPC::Run::timer(15), \$werr, qr/waiting up to.*\n.*detail: .*manual fix/),
	'acquire --wait says it is waiting, and why');
like($werr, qr/warning: waiting up to \d+ s more: project 'app' is locked by 'alice-dba'/,
	'and who it waits for');
$hold->{h}->signal('TERM');
is(finish_rc($hold), 0, 'the --hold process exits 0 on SIGTERM');
like(${ $hold->{out} }, qr/Released the lock of project "app"/, 'and says it released the lock');
$waiter->finish;
is($waiter->full_result(0) >> 8, 0, 'acquire --wait succeeds once the holder is gone');
ok(time() - $t0 < 15, 'without waiting out the whole --wait');
like($wout, qr/^result:\s+acquired$/m, 'the waiter acquired it');
is(scalar(() = $werr =~ /waiting up to/g), 1, 'the holder is reported once, not at every try');
is(status_of('app')->{state}, 'free', 'free again after both');

# SIGINT too
$hold = start_hold('alice', '--reason', 'ctrl-c');
ok(wait_state('locked'), 'acquire --hold again');
$hold->{h}->signal('INT');
is(finish_rc($hold), 0, 'the --hold process exits 0 on SIGINT');
is(status_of('app')->{state}, 'free', 'and released the lock');

# --- SIGKILL: the backend goes, the lock is free at once ---------------------
$hold = start_hold('alice', '--reason', 'doomed', '--lease', '1 hour');
ok(wait_state('locked'), 'acquire --hold with a one-hour lease');
$hold->{h}->signal('KILL');
finish_rc($hold);
ok($node->poll_query_until('postgres',
		"SELECT state = 'stale (holder gone)' FROM pgchange.lock_status() WHERE project = 'app'"),
	'after SIGKILL the holder is gone');
($rc, $out, $err) = pgchange('lock', 'acquire', '-p', 'app', '-d', $as{bob});
is($rc, 0, 'a new acquire succeeds at once, without waiting for the lease');
like($out, qr/^result:\s+taken_over$/m, 'taking over the dead holder\'s lock');

# --- release -----------------------------------------------------------------
$hold = start_hold('alice', '--reason', 'mine', '--lease', '3s');
ok(wait_state('locked'), 'alice holds the lock');
($rc, $out, $err) = pgchange('lock', 'release', '-p', 'app', '-d', $as{bob});
is($rc, 3, 'a deployer\'s release of another role\'s live lock exits 3');
like($err, qr/is held by 'alice', not by this role/, 'the error names the holder');
like($err, qr/hint: A pgchange_admin can break it/, 'the hint names pgchange_admin');
($rc, $out, $err) = pgchange('lock', 'release', '--force', '-p', 'app', '-d', $as{bob});
is($rc, 1, 'a deployer\'s release --force exits 1');
like($err, qr/only pgchange_admin can break another role's live lock/, 'permission refused');
($rc, $out, $err) = pgchange('lock', 'release', '--force', '--json', '-p', 'app', '-d', $as{boss});
is($rc, 0, 'an admin\'s release --force exits 0');
is_deeply(decode_json($out), { project => 'app', released => JSON::PP::true }, 'release --json');
is(finish_rc($hold) >> 8, 3, 'the holder whose lock was broken exits 3 at its next renewal');
like(${ $hold->{err} }, qr/could not renew the lease of project "app"/, 'saying it lost the lock');
($rc, $out) = pgchange('lock', 'release', '-p', 'app', '-d', $as{boss});
is($rc, 0, 'releasing a free lock exits 0');
like($out, qr/^released:\s+no$/m, 'and says nothing was released');

# --- freeze / unfreeze ---------------------------------------------------------
($rc, $out, $err) = pgchange('lock', 'freeze', '-p', 'app', '-d', $as{boss});
is($rc, 2, 'freeze without --reason is a usage error');
($rc, $out, $err) = pgchange('lock', 'freeze', '--reason', 'x', '--until', 'someday', '-p', 'app', '-d', $as{boss});
is($rc, 2, 'freeze with an invalid --until exits 2');
($rc, $out, $err) = pgchange('lock', 'freeze', '--reason', 'x', '--until', '2000-01-01', '-p', 'app', '-d', $as{boss});
is($rc, 2, 'freeze with a past --until exits 2');
like($err, qr/must be in the future/, 'with the server\'s message');
($rc, $out, $err) = pgchange('lock', 'freeze', '--reason', 'x', '-p', 'app', '-d', $as{alice});
is($rc, 1, 'a deployer cannot freeze (exit 1)');
like($err, qr/permission denied|only pgchange_admin/, 'with the server\'s message');

($rc, $out, $err) = pgchange('lock', 'freeze', '--json', '--reason', 'quarter-end close',
	'--until', '2099-01-01 00:00:00+00', '-p', 'app', '-d', $as{boss});
is($rc, 0, 'an admin freezes with a reason and an end');
$j = decode_json($out);
is($j->{reason}, 'quarter-end close', 'freeze --json: reason');
like($j->{until}, qr/^2099-01-01/, 'freeze --json: until');
is($j->{frozen_by}, 'boss', 'freeze --json: frozen_by');

($rc, $out, $err) = pgchange('lock', 'acquire', '-p', 'app', '-d', $as{alice});
is($rc, 3, 'acquire during a freeze exits 3');
like($err, qr/deployments of project 'app' are frozen until 2099/, 'saying it is frozen, and until when');
like($err, qr/quarter-end close/, 'and why');
$st = status_of('app');
is($st->{state}, 'frozen', 'status: frozen');
is($st->{freeze_reason}, 'quarter-end close', 'status: freeze reason');
($rc, $out) = pgchange('lock', 'status', '-p', 'app', '-d', $db);
like($out, qr/by boss until 2099-01-01 00:00:00\+00: quarter-end close/, 'human status shows the freeze');

($rc, $out, $err) = pgchange('lock', 'unfreeze', '-p', 'app', '-d', $as{alice});
is($rc, 1, 'a deployer cannot unfreeze (exit 1)');
($rc, $out) = pgchange('lock', 'unfreeze', '-p', 'app', '-d', $as{boss});
is($rc, 0, 'an admin unfreezes');
like($out, qr/^unfrozen:\s+yes$/m, 'unfreeze reports it');
($rc, $out) = pgchange('lock', 'unfreeze', '--json', '-p', 'app', '-d', $as{boss});
is_deeply(decode_json($out), { project => 'app', unfrozen => JSON::PP::false },
	'a second unfreeze: nothing was frozen');
($rc) = pgchange('lock', 'acquire', '-p', 'app', '-d', $as{alice});
is($rc, 0, 'acquire works again after unfreeze');

# a freeze without end, and the lock events left behind
($rc, $out) = pgchange('lock', 'freeze', '--reason', 'incident', '-p', 'app', '-d', $as{boss});
like($out, qr/^until:\s*$/m, 'a freeze without --until has no end');
($rc) = pgchange('lock', 'unfreeze', '-q', '-p', 'app', '-d', $as{boss});
is($rc, 0, 'unfreeze -q');
like($node->safe_psql('postgres', "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM pgchange.events WHERE project = 'app'"),
	qr/^freeze,lock,lock_broken,lock_taken_over,project,unfreeze,unlock$/, 'every action left its event');

$node->stop;
done_testing();
