# End to end: pgchange verify and deploy --verify.  The verify SQL of
# changesets and a pgTAP suite run against real databases; passing, failing
# (exit 6, the failing test named with its diagnostics), the JUnit and JSON
# reports, pgTAP missing, and deploy --verify with --rollback-on-failure.
use strict;
use warnings;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('verify');
$node->init;
$node->start;

# a fresh database with pgchange, and pgTAP unless told otherwise
sub new_db
{
	my ($name, $pgtap) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	$node->safe_psql($name, 'CREATE EXTENSION pgtap') if $pgtap;
	my ($rc, $out, $err) = pgchange('init', '-d', connstr($node, $name));
	is($rc, 0, "init $name") or diag($err);
	return connstr($node, $name);
}

sub query { my ($db, $sql) = @_; return $node->safe_psql($db, $sql); }

sub write_file
{
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
}

my $dir = tempdir(CLEANUP => 1);
make_path("$dir/db/verify");
my $cl = "$dir/db/changelog.sql";

my $changelog = <<'EOF';
--liquibase formatted sql

--changeset alice:customer
CREATE TABLE customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
--rollback DROP TABLE customer;
--verify SELECT id, email FROM customer WHERE false;

--changeset alice:orders
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customer);
--rollback DROP TABLE orders;
/* pgchange verify
SELECT id, customer_id FROM orders WHERE false;
-- divides by zero when the foreign key is gone
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
 WHERE conrelid = 'orders'::regclass AND contype = 'f';
*/
EOF
write_file($cl, $changelog);
# the line of the verify statement of alice:orders that checks the key
my @cl_lines = split /\n/, $changelog;
my ($orders_verify_line) = grep { $cl_lines[ $_ - 1 ] =~ /^SELECT 1 \/ count/ } 1 .. @cl_lines;

write_file("$dir/db/verify/01_tables.sql", <<'EOF');
-- written for pg_prove too: psql lines and the file's own transaction
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(4);
SELECT has_table('customer', 'table customer exists');
SELECT has_table('orders', 'table orders exists');
SELECT fk_ok('orders', 'customer_id', 'customer', 'id', 'orders reference customers');
-- a test that writes: verification must leave nothing behind
INSERT INTO customer (email) VALUES ('probe@example.com');
SELECT is((SELECT count(*) FROM customer WHERE email = 'probe@example.com'), 1::bigint,
	'a row inserted by a test is visible to the test');
SELECT * FROM finish();
ROLLBACK;
EOF
write_file("$dir/db/verify/02_data.sql", <<'EOF');
BEGIN;
SELECT plan(3);
SELECT cmp_ok((SELECT count(*) FROM customer), '<', 1000::bigint, 'customer: under 1000 rows <ok>');
SELECT is((SELECT count(*) FROM customer WHERE email IS NULL), 0::bigint,
	'no customer without an email');
SELECT is_empty($$SELECT o.id FROM orders o LEFT JOIN customer c ON c.id = o.customer_id
                   WHERE c.id IS NULL$$, 'no orphan orders');
SELECT * FROM finish();
COMMIT;
CREATE TABLE must_not_stay ();
EOF

my $db = new_db('app', 1);
my ($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $db, '-c', $cl);
is($rc, 0, 'deploy without --verify') or diag($err);
like(query('app', q{SELECT verify_sql FROM pgchange.registry WHERE changeset_id = 'customer'}),
	qr/^SELECT id, email FROM customer WHERE false;$/, 'the verify SQL is stored in the registry at deploy time');
like(query('app', q{SELECT verify_sql FROM pgchange.registry WHERE changeset_id = 'orders'}),
	qr/1 \/ count\(\*\)/s, 'the /* pgchange verify */ block too');

# ------------------------------------------------------------- passing --
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '-c', $cl);
is($rc, 0, 'verify passes: exit 0') or diag($out . $err);
like($out, qr/^ changesets \(verify SQL\)\s+\|\s+2 \|\s+2 \|\s+0 \|/m, 'the two changesets verified');
like($out, qr/^ \Q$dir\E\/db\/verify\/01_tables\.sql\s+\|\s+4 \|\s+4 \|\s+0 \|.*\| ok$/m,
	'the verify/ directory beside the changelog is found, its file passes');
like($out, qr/^ \Q$dir\E\/db\/verify\/02_data\.sql\s+\|\s+3 \|\s+3 \|/m, 'the second file, in name order');
like($out, qr/verification passed: 9 test\(s\) in 3 suite\(s\)/, 'a summary line');
is(query('app', q{SELECT count(*) FROM customer}), '0', 'the row a test inserted was rolled back');
is(query('app', q{SELECT to_regclass('must_not_stay') IS NULL}), 't',
	"a file's COMMIT is not sent: what follows it is rolled back too");
is(query('app', q{SELECT count(*) FROM pgchange.deployment_log}), '1', 'verify records nothing');

# ------------------------------------------------------------- failing --
query('app', q{INSERT INTO customer (email) VALUES (NULL), ('ok@example.com')});
my $junit = "$dir/junit.xml";
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '-c', $cl, '--junit', $junit);
is($rc, 6, 'a failing test: exit 6');
like($out, qr/^Failures:\n\Q$dir\E\/db\/verify\/02_data\.sql\n  not ok 2 - no customer without an email\n/m,
	'the failing test is named under its file');
like($out, qr/^      # Failed test 2: "no customer without an email"\n      #\s+have: 1\n      #\s+want: 0$/m,
	"with pgTAP's diagnostics");
like($err, qr/error: verification failed: 1 of 9 test\(s\) failed/, 'the error line counts failures');

# JUnit, read with regular expressions (no XML module needed)
ok(-f $junit, '--junit wrote the file');
my $xml = do { local (@ARGV, $/) = $junit; <> };
like($xml, qr/\A<\?xml version="1\.0" encoding="UTF-8"\?>/, 'an XML document');
like($xml, qr/<testsuites name="pgchange verify" tests="9" failures="1" errors="0" skipped="0"/,
	'testsuites: the totals');
like($xml, qr/<testsuite name="changesets \(verify SQL\)" tests="2" failures="0"/,
	'a testsuite for the changesets');
like($xml, qr/<testcase name="[^"]*changelog\.sql::customer::alice" classname="changesets"/,
	'a testcase per changeset');
my ($suite) = $xml =~ m{(<testsuite name="\Q$dir\E/db/verify/02_data\.sql".*?</testsuite>)}s;
ok(defined $suite, 'a testsuite per pgTAP file, named by its path');
like($suite // '', qr/tests="3" failures="1" errors="0"/, 'with its counts');
like($suite // '', qr/<testcase name="1 - customer: under 1000 rows &lt;ok&gt;"/,
	'test names are escaped by the writer');
like($suite // '',
	qr{<testcase name="2 - no customer without an email" classname="[^"]*02_data\.sql">\s*<failure message="not ok 2 - no customer without an email" type="tap"># Failed test 2: &quot;no customer without an email&quot;\n#\s+have: 1\n#\s+want: 0</failure>}s,
	'the failing testcase carries its diagnostics');

# --json
($rc, $out) = pgchange('-p', 'shop', '--json', 'verify', '-d', $db, '-c', $cl);
is($rc, 6, '--json: exit 6 too');
my $j = eval { decode_json($out) };
ok($j, '--json prints one JSON document') or diag($out);
is($j->{ok}, JSON::PP::false, 'ok: false');
is_deeply([ map { $_->{name} =~ s{.*/}{}r } @{ $j->{suites} } ],
	[ 'changesets (verify SQL)', '01_tables.sql', '02_data.sql' ], 'the suites, in order');
my ($failed) = grep { $_->{status} eq 'failed' } map { @{ $_->{cases} } } @{ $j->{suites} };
is($failed->{name}, '2 - no customer without an email', 'the failed case');
like($failed->{details}, qr/have: 1/, 'with its diagnostics');
is($j->{failed}, 1, 'failed: 1');
query('app', q{DELETE FROM customer});

# ------------------------------------------- per-changeset verify SQL --
query('app', q{ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey});
unlink "$dir/db/verify/01_tables.sql";    # it checks the key too
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '-c', $cl);
is($rc, 6, 'failing verify SQL: exit 6');
like($out, qr/^  [^\n]*changelog\.sql::orders::alice: division by zero$/m,
	'the changeset is named with the error');
like($out, qr/^      \Q$cl\E:\Q$orders_verify_line\E: ERROR:  division by zero$/m,
	'and its FILE:LINE, of the statement that failed') or diag($out);

# without the changelog, the registry's copy runs
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, { env => { PGCHANGE_CHANGELOG => undef } });
is($rc, 6, 'without a changelog the stored verify SQL runs, and fails too');
like($out, qr/statement 2 of the verify SQL kept in the registry: ERROR:  division by zero/,
	'saying where it came from');
unlike($out, qr/01_tables|02_data/, 'no changelog, no --verify-dir: no pgTAP files');

# the file's verify SQL wins over the stored one (an edited verify takes effect)
(my $fixed = $changelog) =~ s/contype = 'f'/contype = 'p'/;
write_file($cl, $fixed);
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '-c', $cl, '--verify-dir', "$dir/none", );
is($rc, 2, 'a --verify-dir that does not exist: exit 2');
like($err, qr/could not open verify directory "\Q$dir\E\/none"/, 'naming it');
make_path("$dir/empty");
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '-c', $cl, '--verify-dir', "$dir/empty");
is($rc, 0, "an edited verify in the file is what runs") or diag($out . $err);
like($out, qr/verification passed: 2 test\(s\) in 1 suite\(s\)/, 'only the changesets, from the files');
($rc) = pgchange('-p', 'shop', 'validate', '-d', $db, '-c', $cl);
is($rc, 0, 'editing a verify block does not change the checksum');
write_file($cl, $changelog);
query('app', q{ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customer});

# a pgchange_reader may verify (given read access to what the tests read)
$node->safe_psql('app', q{CREATE ROLE verify_reader LOGIN IN ROLE pgchange_reader;
	GRANT SELECT ON customer, orders TO verify_reader});
make_path("$dir/readonly");
write_file("$dir/readonly/t.sql",
	"SELECT plan(1);\nSELECT is((SELECT count(*) FROM customer), 0::bigint, 'reads customer');\n");
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $node->connstr('app') . ' user=verify_reader',
	'-c', $cl, '--verify-dir', "$dir/readonly");
is($rc, 0, 'a pgchange_reader runs the verification') or diag($out . $err);
like($out, qr/verification passed: 3 test\(s\) in 2 suite\(s\)/, 'all of it');

# ------------------------------------------------- psql-free file rules --
my $odd = "$dir/odd";
make_path($odd);
write_file("$odd/a.sql", "SELECT plan(1);\nSELECT ok(true) \\gset\n");
write_file("$odd/b.sql", "\\i other.sql\nSELECT plan(1);\nSELECT ok(true);\n");
write_file("$odd/c.sql", "SELECT plan(2);\nSELECT ok(true, 'one');\nSELECT 1/0;\nSELECT ok(true, 'two');\n");
write_file("$odd/d.sql", "SELECT plan(0);\n");
write_file("$odd/e.sql", "SELECT plan(1);\nSELECT ok(true, \$\$a backslash\n\\set in a dollar body\$\$);\n");
write_file("$odd/f.sql", "SELECT plan(1);\nVACUUM;\nSELECT ok(true);\n");
write_file("$odd/g.sql", "SELECT plan(1);\nCOPY (SELECT 1) TO STDOUT;\nCOPY pg_class FROM STDIN;\nSELECT ok(true);\n");
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $db, '--verify-dir', $odd,
	{ env => { PGCHANGE_CHANGELOG => undef } });
is($rc, 6, 'files that cannot run as written fail');
like($out, qr/^\Q$odd\E\/a\.sql\n  \Q$odd\E\/a\.sql:2: a psql meta-command must be on a line of its own/m,
	'a meta-command inside a statement is an error');
like($out, qr/\Q$odd\E\/b\.sql:1: psql's \\i cannot be followed/, '\\i is an error');
like($out, qr/^\Q$odd\E\/c\.sql\n  \Q$odd\E\/c\.sql:3: ERROR:  division by zero\n  planned 2 test\(s\) but ran 1$/m,
	'an SQL error stops the file (ON_ERROR_STOP), and the plan is not met');
like($out, qr/^ \Q$odd\E\/d\.sql\s+\|\s+1 \|\s+0 \|\s+0 \|\s+1 \|.*\| ok$/m, 'plan(0): the file is skipped, and passes');
like($out, qr/^ \Q$odd\E\/e\.sql\s+\|\s+1 \|\s+1 \|.*\| ok$/m, 'a backslash line inside a dollar body is SQL');
like($out, qr/\Q$odd\E\/f\.sql:2: VACUUM cannot run in verification, which runs in a transaction that is rolled back/,
	'a statement that cannot run in a transaction is refused, naming it');
like($out, qr/\Q$odd\E\/g\.sql:3: ERROR:  COPY from stdin failed: COPY FROM STDIN is not supported in verification/,
	'COPY from the client is ended with an error (COPY to it is read and dropped)');

# ------------------------------------------------------ pgTAP missing --
my $bare = new_db('bare', 0);
($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $bare, '-c', $cl, '--verify');
is($rc, 1, 'deploy --verify without pgTAP on the target: exit 1');
like($err, qr/error: pgTAP functions not found in database "bare"/, 'a clear error');
like($err, qr/hint: Install pgTAP there: CREATE EXTENSION pgtap; \(the package is postgresql-\d+-pgtap/,
	'with the install hint');
is(query('bare', q{SELECT count(*) FROM pgchange.registry}), '0', 'and nothing was deployed');
($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $bare, '-c', $cl);
is($rc, 0, 'deploy without --verify');
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $bare, '-c', $cl);
is($rc, 1, 'verify without pgTAP: exit 1');
like($err, qr/pgTAP functions not found/, 'the same error');
($rc, $out, $err) = pgchange('-p', 'shop', 'verify', '-d', $bare, '-c', $cl, '--verify-dir', "$dir/empty");
is($rc, 0, 'without pgTAP files, the verify SQL needs no pgTAP') or diag($err);

# ------------------------------------------------------ deploy --verify --
$changelog .= <<'EOF';

--changeset bob:seed
INSERT INTO customer (email) VALUES ('a@example.com'), ('b@example.com');
--rollback DELETE FROM customer WHERE email LIKE '%@example.com';
--verify SELECT 1 / (count(*) = 2)::int FROM customer;
EOF
write_file($cl, $changelog);
($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $db, '-c', $cl, '--verify');
is($rc, 0, 'deploy --verify: exit 0') or diag($out . $err);
like($out, qr/\[1\/1\] ran\s+\S*changelog\.sql::seed::bob.*\ndeployment \d+ of project shop succeeded.*\n\s+Verification of project "shop"/s,
	'verification runs after the changesets');
like($out, qr/verification passed: 6 test\(s\) in 2 suite\(s\)/, 'and passes, the new verify SQL included');
is(query('app', q{SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL}), '0', 'the lock is released');

($rc, $out, $err) = pgchange('-p', 'shop', '--json', 'deploy', '-d', $db, '-c', $cl, '--verify');
is($rc, 0, 'deploy --verify --json when up to date: verifies anyway');
$j = eval { decode_json($out) };
ok($j, 'one JSON document') or diag($out);
is($j->{status}, 'up to date', 'the deploy part');
is($j->{verification}{ok}, JSON::PP::true, 'and the verification part');
is($j->{rollback_on_failure}, undef, 'no rollback');

# failing, without --rollback-on-failure: what ran stays
$changelog .= <<'EOF';

--changeset bob:bad-seed
INSERT INTO customer (email) VALUES (NULL);
--rollback DELETE FROM customer WHERE email IS NULL;
EOF
write_file($cl, $changelog);
($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $db, '-c', $cl, '--verify');
is($rc, 6, 'deploy --verify, verification failing: exit 6');
like($out, qr/not ok 2 - no customer without an email/, 'naming the test');
is(query('app', q{SELECT count(*) FROM pgchange.registry WHERE changeset_id = 'bad-seed'}), '1',
	'without --rollback-on-failure the changeset stays');
is(query('app', q{SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL}), '0',
	'the lock is released');

# --rollback-on-failure: the changesets of this deploy are undone
query('app', q{DELETE FROM customer WHERE email IS NULL});
$changelog .= <<'EOF';

--changeset bob:another-bad-seed
INSERT INTO customer (email) VALUES (NULL);
--rollback DELETE FROM customer WHERE email IS NULL;

--changeset bob:gadgets
CREATE TABLE gadget (id int);
--rollback DROP TABLE gadget;
EOF
write_file($cl, $changelog);
($rc, $out, $err) = pgchange('-p', 'shop', '--json', 'deploy', '-d', $db, '-c', $cl,
	'--rollback-on-failure', '--junit', "$dir/deploy.xml");
is($rc, 6, 'deploy --rollback-on-failure, verification failing: exit 6') or diag($err);
$j = eval { decode_json($out) };
ok($j, 'one JSON document') or diag($out);
is($j->{verification}{ok}, JSON::PP::false, 'the verification failed');
is($j->{rollback_on_failure}{rolled_back}, JSON::PP::true, 'the report says the deploy was rolled back')
  or diag($err);
is(query('app', q{SELECT count(*) FROM pgchange.registry WHERE changeset_id IN ('another-bad-seed', 'gadgets')}),
	'0', 'the changesets of this deploy are no longer applied');
is(query('app', q{SELECT count(*) FROM customer WHERE email IS NULL}), '0', 'their rollbacks ran');
is(query('app', q{SELECT to_regclass('gadget') IS NULL}), 't', 'both of them');
is(query('app', q{SELECT count(*) FROM pgchange.registry WHERE changeset_id = 'bad-seed'}), '1',
	'what earlier deploys applied stays');
ok(-f "$dir/deploy.xml", 'deploy --junit writes the report');
is(query('app', q{SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL}), '0',
	'the lock is released');

($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $db, '-c', $cl, '--rollback-on-failure');
is($rc, 6, 'human output: exit 6');
like($out, qr/verification failed: rolling back the changesets of deployment \d+ \(--rollback-on-failure\)/,
	'the report says it rolls back');
like($err, qr/verification failed; the changesets of deployment \d+ were rolled back/, 'and that it did');

# ------------------------------------------------------------ examples --
# examples/verify/ holds for the example in every environment, as
# examples/README.md says
my $root = srcdir() . '/examples/changelog.xml';
for my $env ('dev', 'staging')
{
	my $edb = new_db("shop_$env", 1);
	($rc, $out, $err) = pgchange('-p', 'shop', 'deploy', '-d', $edb, '-c', $root,
		'--contexts', $env, '--verify');
	is($rc, 0, "the example deploys and verifies ($env)") or diag($out . $err);
	like($out, qr/^ changesets \(verify SQL\)\s+\|\s+2 \|\s+2 \|.*\n.*01_schema\.sql\s+\|\s+8 \|\s+8 \|.*\n.*02_data\.sql\s+\|\s+5 \|\s+5 \|/m,
		"its verify SQL and both pgTAP files pass ($env)");
}
$node->safe_psql('shop_dev', 'ALTER TABLE shop.orders DROP CONSTRAINT orders_customer_id_fkey');
($rc, $out) = pgchange('-p', 'shop', 'verify', '-d', connstr($node, 'shop_dev'), '-c', $root);
is($rc, 6, 'without the foreign key, the example verification fails');
like($out, qr/create-orders::alice: division by zero/, 'in the verify SQL of create-orders');
like($out, qr/not ok 6 - orders\.customer_id references customer\.id/, 'and in fk_ok');

$node->stop;
done_testing();
