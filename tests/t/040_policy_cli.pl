# End to end: pgchange check, policy push / show, drift, and the policy in
# deploy (the check before it starts, --policy, the event triggers at run
# time) against a cluster.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PgChangeTest;

my $node = PostgreSQL::Test::Cluster->new('policy');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my $db = connstr($node, 'app');
my ($rc, $out, $err) = pgchange('init', '-d', $db);
is($rc, 0, 'init');

# an admin who may push settings, and a deployer who may not
$node->safe_psql('app', q{
	CREATE ROLE admin LOGIN IN ROLE pgchange_admin;
	CREATE ROLE deployer LOGIN IN ROLE pgchange_deployer;
	GRANT CREATE ON SCHEMA public TO admin, deployer;
	CREATE TABLE legacy (id bigint PRIMARY KEY, note text);
	CREATE TABLE victim (id bigint PRIMARY KEY);
	-- tables that hold data: dropping or truncating an empty table is harmless
	INSERT INTO legacy VALUES (1, 'kept');
	INSERT INTO victim VALUES (1);
	ALTER TABLE legacy OWNER TO admin;
	ALTER TABLE victim OWNER TO deployer;
});
my $as_admin = "$db user=admin";
my $as_deployer = "$db user=deployer";

my $dir = tempdir(CLEANUP => 1);

sub write_file
{
	my ($name, $text) = @_;
	open my $fh, '>', "$dir/$name" or die;
	print $fh $text;
	close $fh;
	return "$dir/$name";
}

sub psql { return $node->safe_psql('app', $_[0]); }

# ---------------------------------------------------------------------------
# policy push / show

my $bad = write_file('bad.json', <<'EOF');
{
	// a typo in a severity
	"rules": {"drop-table": {"severity": "fatal"}}
}
EOF
($rc, $out, $err) = pgchange('policy', 'push', $bad, '-d', $as_admin);
is($rc, 2, 'an invalid settings file exits 2');
like($err, qr/bad\.json: \$\.rules\."drop-table"\.severity: expected one of off, info, warn, error/,
	'the error names the file and the JSON path');
is(psql('SELECT count(*) FROM pgchange.policy_settings'), '0', 'nothing was pushed');

my $bad_syntax = write_file('syntax.json', qq({\n  "rules": {}\n  "large_table_rows": 5\n}\n));
($rc, $out, $err) = pgchange('policy', 'push', $bad_syntax, '-d', $as_admin);
is($rc, 2, 'a settings file that is not JSON exits 2');
like($err, qr/syntax\.json:3: invalid JSON/, 'the error names FILE:LINE');

my $global = write_file('global.json', <<'EOF');
/* the team's settings */
{
	"rules": {
		"prefer-text": "info",          // noted, not a warning
		"statement-regex": {"severity": "warn", "rules": [
			{"id": "no-cascade", "pattern": "(?i)\\ycascade\\y",
			 "message": "CASCADE: it drops more than it names, 100%", "hint": "Name each object, then drop it."}
		]}
	},
	"projects": {"shop": {"rules": {"drop-table": "warn"}}}
}
EOF
($rc, $out, $err) = pgchange('policy', 'push', $global, '-d', $as_deployer);
is($rc, 1, 'a deployer cannot push settings');
like($err, qr/permission denied for function policy_push/, 'the server says why');
like($err, qr/hint: .*pgchange_admin/, 'the hint names the role it takes');
is(psql('SELECT count(*) FROM pgchange.policy_settings'), '0', 'nothing was pushed by the deployer');

($rc, $out, $err) = pgchange('policy', 'push', $global, '-d', $as_admin);
is($rc, 0, 'an admin pushes the global settings') or diag($err);
like($out, qr/scope:\s+global/, 'push says which scope');
is(psql(q{SELECT settings #>> '{rules,prefer-text}' FROM pgchange.policy_settings WHERE scope = ''}),
	'info', 'stored as the global document, comments gone');

($rc, $out) = pgchange('policy', 'show', '-d', $db);
is($rc, 0, 'policy show exits 0');
like($out, qr/^\s*prefer-text\s*\|\s*info\s*\|\s*statement\s*\|/m, 'the table has the rule, its severity and scope');
like($out, qr/^\s*drop-table\s*\|\s*error\s*\|/m, 'defaults are filled in');
like($out, qr/DDL outside deployments: log/, 'and the guard mode');
($rc, $out) = pgchange('policy', 'show', '-d', $db, '-p', 'shop', '--json');
my $shown = decode_json($out);
is($shown->{rules}{'drop-table'}{severity}, 'warn', 'show -p applies the project part of the global document');
is($shown->{rules}{'too-many-columns'}{max_columns}, 50, 'with every parameter filled in');

my $shop = write_file('shop.json', '{"rules": {"grant-all": "off"}}');
($rc, $out, $err) = pgchange('policy', 'push', $shop, '-d', $as_admin, '-p', 'shop');
is($rc, 0, 'an admin pushes a project\'s own settings') or diag($err);
is(psql(q{SELECT settings::text FROM pgchange.policy_settings WHERE scope = 'shop'}),
	'{"rules": {"grant-all": "off"}}', 'stored under the project');
($rc, $out, $err) = pgchange('policy', 'push', $global, '-d', $as_admin, '-p', 'shop');
is($rc, 2, 'a project\'s own settings cannot hold "projects"');
like($err, qr/global\.json: \$\.projects: "projects" is allowed only at the top of the global settings/,
	'said before anything is sent');

# ---------------------------------------------------------------------------
# pgchange check

my $cl = write_file('changelog.sql', <<'EOF');
--liquibase formatted sql

--changeset alice:1
--comment: customers
CREATE TABLE customer (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name varchar(80)
);
--rollback DROP TABLE customer;

--changeset bob:2
--comment: remove the legacy table
SELECT 1;
DROP TABLE legacy;
--rollback CREATE TABLE legacy (id bigint PRIMARY KEY);

--changeset carol:3
CREATE INDEX CONCURRENTLY customer_name ON customer (name);
EOF

($rc, $out, $err) = pgchange('check', '-c', $cl, '-d', $as_deployer);
is($rc, 5, 'check exits 5 on an error-level violation') or diag($err);
like($out, qr/^\Q$dir\E\/changelog\.sql:14: changeset changelog\.sql::2::bob\n  error \[drop-table\] dropping table public\.legacy destroys its data\n        hint: Drop a table only/m,
	'text: grouped under FILE:LINE of the statement (the second of its changeset), with severity, rule id, message and hint');
like($out, qr/^\Q$dir\E\/changelog\.sql:5: changeset changelog\.sql::1::alice\n  info  \[prefer-text\] column customer\.name/m,
	'a statement spanning lines is reported at its first line');
like($out, qr/^\Q$dir\E\/changelog\.sql:17: changeset changelog\.sql::3::carol\n  warn  \[changeset-without-comment\].*\n.*\n  warn  \[changeset-without-rollback\]/m,
	'changelog-scope rules at the changeset line, grouped');
like($out, qr/^\Q$dir\E\/changelog\.sql:18: .*\n  error \[concurrently-in-transaction\]/m,
	'runInTransaction is passed: CONCURRENTLY in a transactional changeset');
like($out, qr/3 changeset\(s\) checked: 2 error\(s\), 2 warning\(s\), 1 info/, 'a summary line');
is(psql(q{SELECT to_regclass('customer') IS NULL AND to_regclass('legacy') IS NOT NULL
	AND NOT EXISTS (SELECT FROM pgchange.registry)}), 't', 'check changed nothing');

($rc, $out) = pgchange('check', '-c', $cl, '-d', $as_deployer, '--json');
is($rc, 5, 'check --json exits 5 too');
my $v = decode_json($out);
my ($drop) = grep { $_->{rule} eq 'drop-table' } @$v;
is_deeply([ @{$drop}{qw(file line severity changeset statement object)} ],
	[ "$dir/changelog.sql", 14, 'error', 'changelog.sql::2::bob', 'DROP TABLE legacy', 'public.legacy' ],
	'--json: file, line, severity, changeset, statement, object');
ok(defined $drop->{detail} && defined $drop->{hint} && $drop->{message} =~ /legacy/,
	'--json: message, detail and hint');

($rc, $out) = pgchange('check', '-c', $cl, '-d', $as_deployer, { env => { GITHUB_ACTIONS => 'true' } });
like($out, qr/^::error file=\Q$dir\E\/changelog\.sql,line=14,title=drop-table::dropping table public\.legacy destroys its data%0ADrop a table/m,
	'GitHub Actions: an ::error annotation with file, line and title; the hint on its own line');
like($out, qr/^::warning file=.*,line=17,title=changeset-without-comment::/m, 'warn is ::warning');
like($out, qr/^::notice file=.*,line=5,title=prefer-text::/m, 'info is ::notice');
($rc, $out, $err) = pgchange('check', '-c', $cl, '-d', $as_deployer, '--json', { env => { GITHUB_ACTIONS => 'true' } });
ok(eval { decode_json($out) }, 'with --json the annotations stay out of standard output');
like($err, qr/^::error file=/m, 'and go to standard error');

# annotation escaping: % and newlines in data, : and , in properties
my $odd = write_file('odd,name:1.sql', <<'EOF');
--liquibase formatted sql

--changeset dan:1
--comment: cascade
--rollback empty
DROP VIEW IF EXISTS nothing CASCADE;
EOF
($rc, $out) = pgchange('check', '-c', $odd, '-d', $as_deployer, { env => { GITHUB_ACTIONS => 'true' } });
is($rc, 0, 'only a warning: exit 0');
like($out, qr/^::warning file=\Q$dir\E\/odd%2Cname%3A1\.sql,line=6,title=no-cascade::CASCADE: it drops more than it names, 100%25%0AName each object, then drop it\.$/m,
	'properties escape , and :, data escapes % and newlines');

# --policy FILE: lint with a file, push nothing
my $relaxed = write_file('relaxed.json', <<'EOF');
{"rules": {"drop-table": "warn", "concurrently-in-transaction": "off", "changeset-without-context": "error"}}
EOF
($rc, $out, $err) = pgchange('check', '-c', $cl, '-d', $as_deployer, '--policy', $relaxed);
is($rc, 5, 'with --policy the file\'s severities apply');
like($out, qr/warn  \[drop-table\]/, 'drop-table is a warning under the file');
unlike($out, qr/concurrently-in-transaction/, 'a rule the file switches off is silent');
like($out, qr/error \[changeset-without-context\]/, 'changelog-scope rules take the file\'s severity');
is(psql(q{SELECT settings::text FROM pgchange.policy_settings WHERE scope = ''}) =~ /changeset-without-context/ ? 'pushed' : 'not pushed',
	'not pushed', 'check --policy pushes nothing');
($rc, $out, $err) = pgchange('check', '-c', $cl, '-d', $as_deployer, '--policy', $bad);
is($rc, 2, 'check --policy with an invalid file exits 2');
like($err, qr/bad\.json: \$\.rules\."drop-table"\.severity/, 'naming the JSON path');

# a changeset that does not parse: FILE:LINE, exit 2
my $broken = write_file('broken.sql', <<'EOF');
--liquibase formatted sql

--changeset eve:1
--comment: c
--rollback empty
CREATE TABLE fine (id bigint PRIMARY KEY);
CREATE TABLE oops (id bigint PRIMARY KEY,);
EOF
($rc, $out, $err) = pgchange('check', '-c', $broken, '-d', $as_deployer);
is($rc, 2, 'a changeset that does not parse exits 2');
like($err, qr/broken\.sql:7: changeset broken\.sql::1::eve does not parse: syntax error/, 'named at FILE:LINE');

# a master's sqlFile: statements are reported in the SQL file, the
# changelog rules at the changeSet in the master
mkdir "$dir/sql" or die;
write_file('sql/cleanup.sql', "-- one statement per line\nSELECT 1;\nTRUNCATE victim;\n");
my $master = write_file('master.xml', <<'EOF');
<?xml version="1.0" encoding="UTF-8"?>
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
    <changeSet id="cleanup" author="frank">
        <comment>empty the victim table</comment>
        <sqlFile path="sql/cleanup.sql" relativeToChangelogFile="true"/>
    </changeSet>
</databaseChangeLog>
EOF
($rc, $out, $err) = pgchange('check', '-c', $master, '-d', $as_deployer, '-p', 'master');
is($rc, 5, 'check of an XML master exits 5 on its sqlFile\'s TRUNCATE');
like($out, qr/^\Q$dir\E\/sql\/cleanup\.sql:3: changeset master\.xml::cleanup::frank\n  error \[truncate\]/m,
	'a sqlFile statement is reported at its line in the SQL file');
like($out, qr/^\Q$dir\E\/master\.xml:3: changeset master\.xml::cleanup::frank\n  warn  \[changeset-without-rollback\]/m,
	'the changelog rules at the changeSet element of the master');

# goose: no metadata, the Down section is the rollback
mkdir "$dir/goose" or die;
write_file('goose/00001_drop.sql', "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\nDROP TABLE victim;\n");
($rc, $out, $err) = pgchange('check', '-c', "$dir/goose", '-d', $as_deployer, '-p', 'goose');
is($rc, 5, 'check of a goose directory');
like($out, qr/00001_drop\.sql:5: changeset .*\n  error \[drop-table\] dropping table public\.victim/,
	'goose: the statement at its line');
like($out, qr/\[changeset-without-rollback\].*\n        hint: Add a "-- \+goose Down" section\./,
	'goose: a migration without Down has no rollback, with a goose hint');

# ---------------------------------------------------------------------------
# deploy: the check first; --policy; the event triggers at run time

my $cl_deploy = write_file('deploy.sql', join("\n", (split /\n/, slurp_file($cl))[0 .. 14]) . "\n");
($rc, $out, $err) = pgchange('deploy', '-c', $cl_deploy, '-d', $as_deployer);
is($rc, 5, 'deploy refused by the check exits 5');
like($err, qr/deploy\.sql:14: changeset deploy\.sql::2::bob\n  error \[drop-table\]/, 'it prints the violations');
like($err, qr/deploy stopped by policy: 1 error-level violation\(s\); nothing was applied/, 'and says it did not start');
is(psql(q{SELECT to_regclass('customer') IS NULL AND NOT EXISTS (SELECT FROM pgchange.registry)
	AND NOT EXISTS (SELECT FROM pgchange.deployments)}), 't', 'nothing was applied, no deployment recorded');
is(psql('SELECT count(*) FROM pgchange.lock_lease WHERE owner IS NOT NULL'), '0', 'the lock was released');

# --all against pending only: the applied part is not checked again
my $cl2 = write_file('two.sql', <<'EOF');
--liquibase formatted sql

--changeset alice:1
--rollback DROP TABLE t1;
CREATE TABLE t1 (id bigint PRIMARY KEY, code varchar(3));
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $cl2, '-d', $as_deployer, '-p', 'two', '--dry-run', '-v');
is($rc, 0, 'warnings only: deploy goes on') or diag($err);
like($err, qr/two\.sql:3: changeset two\.sql::1::alice\n  warn  \[changeset-without-comment\].*two\.sql:5: changeset two\.sql::1::alice\n  info  \[prefer-text\].*\n        detail: In PostgreSQL.*\n.*\n        statement: CREATE TABLE t1/s,
	'with -v it lists what the check found, with details and statements');
($rc, $out, $err) = pgchange('deploy', '-c', $cl2, '-d', $as_deployer, '-p', 'two');
is($rc, 0, 'warnings only: the deploy runs') or diag($err);
like($err, qr/warning: the policy check found 1 warning\(s\) in the changesets to run; "pgchange check" lists them/,
	'without -v it counts the warnings');
unlike($err, qr/prefer-text/, 'and does not list them');
open my $fh, '>>', $cl2 or die;
print $fh "\n--changeset alice:2\n--comment: more\n--rollback DROP TABLE t2;\nCREATE TABLE t2 (id bigint PRIMARY KEY);\n";
close $fh;
($rc, $out) = pgchange('check', '-c', $cl2, '-d', $as_deployer, '-p', 'two');
like($out, qr/1 changeset\(s\) checked: 0 error\(s\), 0 warning\(s\), 0 info/, 'check looks at pending changesets only');
($rc, $out) = pgchange('check', '-c', $cl2, '-d', $as_deployer, '-p', 'two', '--all');
like($out, qr/2 changeset\(s\) checked: 0 error\(s\), 1 warning\(s\), 1 info/, '--all checks applied ones too');
like($out, qr/two\.sql:5: changeset two\.sql::1::alice/, 'and reports them');

# deploy --policy: an admin pushes the project's settings, then deploys
my $allow = write_file('allow.json', '{"rules": {"drop-table": "off", "concurrently-in-transaction": "off"}}');
my $cl3 = write_file('three.sql', <<'EOF');
--liquibase formatted sql

--changeset bob:1
--comment: remove the legacy table
--rollback empty
DROP TABLE legacy;
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $cl3, '-d', $as_deployer, '-p', 'cleanup', '--policy', $allow);
is($rc, 1, 'deploy --policy needs pgchange_admin');
is(psql(q{SELECT to_regclass('legacy') IS NOT NULL}), 't', 'and nothing ran');
($rc, $out, $err) = pgchange('deploy', '-c', $cl3, '-d', $as_admin, '-p', 'cleanup', '--policy', $allow);
is($rc, 0, 'deploy --policy pushes, then deploys under the new settings') or diag($err);
is(psql(q{SELECT settings::text FROM pgchange.policy_settings WHERE scope = 'cleanup'}),
	'{"rules": {"drop-table": "off", "concurrently-in-transaction": "off"}}', 'the project\'s settings were pushed');
is(psql(q{SELECT to_regclass('legacy') IS NULL}), 't', 'the table was dropped');

# dynamic SQL the static check cannot see: the event trigger stops it
my $cl4 = write_file('four.sql', <<'EOF');
--liquibase formatted sql

--changeset mallory:1
--comment: looks harmless
--rollback empty
CREATE TABLE harmless (id bigint PRIMARY KEY);
DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'victim'; END $$;
EOF
($rc, $out, $err) = pgchange('check', '-c', $cl4, '-d', $as_deployer, '-p', 'four');
is($rc, 0, 'the static check cannot see DDL inside a DO block');
($rc, $out, $err) = pgchange('deploy', '-c', $cl4, '-d', $as_deployer, '-p', 'four');
is($rc, 5, 'at run time the event trigger blocks it: exit 5');
like($err, qr/four\.sql:7: changeset four\.sql::1::mallory failed/, 'the failing statement is named');
like($err, qr/\[drop-table\] dropping table public\.victim destroys its data/, 'with the rule');
like($err, qr/detail: DROP TABLE deletes every row/, 'its detail');
like($err, qr/hint: Drop a table only after/, 'and its hint');
like($out, qr/\[1\/1\] blocked\s+four\.sql::1::mallory/, 'the changeset is reported as blocked');
is(psql(q{SELECT to_regclass('victim') IS NOT NULL AND to_regclass('harmless') IS NULL}), 't',
	'the changeset rolled back whole');
is(psql(q{SELECT status FROM pgchange.deployments ORDER BY deployment_id DESC LIMIT 1}), 'failed',
	'the deployment is recorded as failed');
is(psql(q{SELECT count(*) FROM pgchange.violations WHERE rule = 'drop-table' AND blocked AND changeset LIKE '%mallory%'}),
	'1', 'the blocked violation is recorded with its changeset');

# statement by statement, failOnError:false: still blocked, and the deploy stops
my $cl5 = write_file('five.sql', <<'EOF');
--liquibase formatted sql

--changeset mallory:2 runInTransaction:false failOnError:false
--comment: also harmless, surely
--rollback empty
DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'victim'; END $$;

--changeset mallory:3
--comment: never reached
--rollback empty
CREATE TABLE after_block (id bigint PRIMARY KEY);
EOF
($rc, $out, $err) = pgchange('deploy', '-c', $cl5, '-d', $as_deployer, '-p', 'five');
is($rc, 5, 'a blocked statement outside a transaction exits 5, failOnError:false or not');
like($err, qr/five\.sql:6: changeset five\.sql::2::mallory failed/, 'naming its line');
is(psql(q{SELECT to_regclass('victim') IS NOT NULL AND to_regclass('after_block') IS NULL}), 't',
	'the deploy stopped there');

# ---------------------------------------------------------------------------
# drift

($rc, $out, $err) = pgchange('drift', '-d', $db, '--exit-code');
is($rc, 0, 'no drift right after a deploy') or diag($err);
$node->safe_psql('app', 'CREATE TABLE by_hand (id bigint PRIMARY KEY)');
($rc, $out) = pgchange('drift', '-d', $db);
is($rc, 0, 'drift exits 0 without --exit-code');
like($out, qr/CREATE TABLE\s*\|.*by_hand/, 'a manual CREATE TABLE is listed with its objects');
($rc, $out) = pgchange('drift', '-d', $db, '--exit-code');
is($rc, 8, 'drift --exit-code exits 8 when there is drift');
($rc, $out) = pgchange('drift', '-d', $db, '--json');
my $d = decode_json($out);
is(scalar(@$d), 1, '--json: one entry');
is($d->[0]{command_tag}, 'CREATE TABLE', '--json: command tag');
like($d->[0]{statement}, qr/CREATE TABLE by_hand/, '--json: the statement');
is($d->[0]{username}, 'postgres', '--json: who');

$node->stop;
done_testing();
