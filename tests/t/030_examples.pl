# End to end: the example changelog in examples/ deploys, as examples/README.md,
# the README and `make demo` say it does, so the example can never rot.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgChangeTest;

my $examples = srcdir() . '/examples';
my $root = "$examples/changelog.xml";

my $node = PostgreSQL::Test::Cluster->new('examples');
$node->init;
$node->start;

# a fresh database with the extension
sub new_db
{
	my ($name) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	my ($rc, $out, $err) = pgchange('init', '-d', connstr($node, $name));
	is($rc, 0, "init $name") or diag($err);
	return connstr($node, $name);
}

# pgchange -p shop COMMAND -d DB ...
sub shop
{
	my ($cmd, $db, @args) = @_;
	return pgchange('-p', 'shop', $cmd, '-d', $db, @args);
}

# the result of a query in a database
sub query { my ($db, $sql) = @_; return $node->safe_psql($db, $sql); }

# ------------------------------------------------------------- dev --
my $dev = new_db('dev');
my ($rc, $out, $err) = shop('status', $dev, '-c', $root, '--exit-code');
is($rc, 7, 'status --exit-code: changesets are pending');
like($out, qr/db\/001_tables\.sql::create-customer::alice .*pending.*run/,
	'status lists the changesets by logical path, id and author');

($rc, $out, $err) = shop('deploy', $dev, '-c', $root, '--contexts', 'dev');
is($rc, 0, 'deploy --contexts dev') or diag($err);
like($out, qr/^\[1\/8\] ran\s+db\/001_tables\.sql::create-schema::alice/m, 'k/N lines, from 1/8');
like($out, qr/^\[8\/8\] ran\s+db\/005_seed_dev\.sql::seed-dev-customers::carol/m, 'to 8/8: the dev seed');

is(query('dev', q{SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop' AND c.relkind = 'r'}),
	'customer,orders', 'tables shop.customer and shop.orders');
is(query('dev', q{SELECT confrelid::regclass FROM pg_constraint
	WHERE conrelid = 'shop.orders'::regclass AND contype = 'f'}),
	'shop.customer', 'orders has a foreign key to customer');
is(query('dev', q{SELECT shop.customer_total(id) FROM shop.customer WHERE email = 'ada@example.com'}),
	'4200', 'the function works on the seed data');
is(query('dev', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'shop.orders_customer_id_idx'::regclass}),
	't', 'the concurrent index was built, valid');
is(query('dev', q{SELECT has_table_privilege('shop_reporting', 'shop.orders', 'SELECT')}),
	't', 'the reporting role exists and reads the tables');
is(query('dev', q{SELECT string_agg(changeset_id || ' ' || exec_type, ',' ORDER BY exec_order)
	FROM pgchange.history WHERE project = 'shop'}),
	'create-schema executed,create-customer executed,create-orders executed,'
	  . 'customer-total executed,create-reporting-role executed,grant-reporting executed,'
	  . 'orders-customer-index executed,seed-dev-customers executed',
	'the registry has every changeset, in changelog order');
is(query('dev', q{SELECT rollback_sql FROM pgchange.registry WHERE changeset_id = 'create-customer'}),
	'DROP TABLE shop.customer;', 'the rollback is recorded, properties substituted');
is(query('dev', q{SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL}), '0',
	'the lock is released');

# a second deploy is a no-op
($rc, $out, $err) = shop('deploy', $dev, '-c', $root, '--contexts', 'dev');
is($rc, 0, 'second deploy exits 0') or diag($err);
unlike($out, qr/^\[\d+\/\d+\]/m, 'second deploy runs nothing');
is(query('dev', q{SELECT count(*) FROM pgchange.history WHERE project = 'shop'}), '8',
	'second deploy records nothing');
($rc) = shop('status', $dev, '-c', $root, '--contexts', 'dev', '--exit-code');
is($rc, 0, 'status --exit-code: up to date');
($rc, $out, $err) = shop('validate', $dev, '-c', $root);
is($rc, 0, 'validate passes') or diag($out . $err);
like($out, qr/the 8 applied changesets match their files/, 'validate says so');

# --------------------------------------------------------- staging --
# the role exists now (roles are per cluster): its changeset is marked ran
my $staging = new_db('staging');
($rc, $out, $err) = shop('deploy', $staging, '-c', $root, '--contexts', 'staging');
is($rc, 0, 'deploy --contexts staging') or diag($err);
like($out, qr/^\[5\/7\] marked ran db\/003_reporting\.sql::create-reporting-role::dave/m,
	'the precondition marks the role changeset as ran');
is(query('staging', 'SELECT count(*) FROM shop.customer'), '0', 'no seed data without the dev context');
is(query('staging', q{SELECT exec_type FROM pgchange.history WHERE changeset_id = 'create-reporting-role'}),
	'mark_ran', 'recorded as mark_ran');
is(query('staging', q{SELECT has_table_privilege('shop_reporting', 'shop.customer', 'SELECT')}),
	't', 'the grants ran in this database too');
($rc, $out) = shop('status', $staging, '-c', $root, '--contexts', 'staging');
like($out, qr/seed-dev-customers::carol .*pending.*filtered out/, 'status: the seed is filtered out');
($rc) = shop('validate', $staging, '-c', $root, '--contexts', 'staging');
is($rc, 0, 'validate passes on staging');

# ----------------------------------------------------- no contexts --
# Liquibase's rule, which the docs warn about: no --contexts runs everything
my $plain = new_db('plain');
($rc, $out, $err) = shop('deploy', $plain, '-c', $root);
is($rc, 0, 'deploy without --contexts') or diag($err);
is(query('plain', 'SELECT count(*) FROM shop.customer'), '2', 'without --contexts the dev seed runs too');
($rc, $out) = shop('deploy', $plain, '-c', $root);
unlike($out, qr/^\[\d+\/\d+\]/m, 'and a second deploy is a no-op');

# ------------------------------------------------------ validation --
# the edits the demo shows, on a copy: a comment keeps validation passing,
# a statement fails it with exit 4
my $copy = tempdir(CLEANUP => 1);
make_path("$copy/db");
copy("$examples/changelog.xml", "$copy/changelog.xml") or die;
for my $f (glob("$examples/db/*.sql"))
{
	(my $base = $f) =~ s{.*/}{};
	copy($f, "$copy/db/$base") or die;
}

# apply a s/// to a file of the copy; fails the test if it matched nothing
sub edit
{
	my ($file, $from, $to, $what) = @_;
	open my $in, '<', $file or die;
	local $/;
	my $text = <$in>;
	close $in;
	ok($text =~ s/$from/$to/m, "the demo's edit applies: $what");
	open my $outfh, '>', $file or die;
	print $outfh $text;
	close $outfh;
}

my $tables = "$copy/db/001_tables.sql";
edit($tables, qr/-- the login$/m, '-- the login: one account per address', 'comment');
($rc, $out, $err) = shop('validate', $dev, '-c', "$copy/changelog.xml");
is($rc, 0, 'an edited comment validates') or diag($out . $err);

edit($tables, qr/name        text NOT NULL,/, 'name        text,', 'statement');
($rc, $out, $err) = shop('validate', $dev, '-c', "$copy/changelog.xml");
is($rc, 4, 'an edited statement fails validation with exit 4');
like($out, qr/create-customer::alice .*changed.*blocked/, 'validate names the changed changeset');

# runOnChange: the edited function runs again
copy("$examples/db/001_tables.sql", $tables) or die;
edit("$copy/db/002_functions.sql", qr/status <> 'cancelled'/, "status = 'paid'", 'function');
($rc, $out) = shop('status', $dev, '-c', "$copy/changelog.xml", '--json');
my ($fn) = grep { $_->{id} eq 'customer-total' } @{ decode_json($out)->{items} };
is("$fn->{status} $fn->{action}", 'changed rerun', 'an edited runOnChange changeset is to be rerun');
($rc, $out, $err) = shop('deploy', $dev, '-c', "$copy/changelog.xml", '--contexts', 'dev');
is($rc, 0, 'deploy of the edited function') or diag($err);
is(query('dev', q{SELECT exec_type FROM pgchange.history WHERE changeset_id = 'customer-total'}),
	'reran', 'recorded as reran');

$node->stop;
done_testing();
