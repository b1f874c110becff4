# End to end: rolling back real-world migration sets.  Every set of the
# corpus that has rollbacks (--rollback in Liquibase formatted SQL, goose
# Down sections; see the corpus's PROVENANCE.md) is deployed with the
# pgchange binary, rolled back to nothing and deployed again; the schema
# pg_dump shows must then be an empty database's, and again the one real
# Liquibase / goose made (EXPECTED_SCHEMA.sql).
#
# Upstream's rollbacks are not all right, and this test holds pgchange to
# what they really do:
#  - openfga/openfga: every Down works: back to empty, --test-rollback passes.
#  - DIMO-Network/identity-api: five Down sections are wrong (00012 and
#    00016/00026 do not parse, 00030 drops a column that does not exist,
#    00032 renames vehicle_sacds to "sacd" for "sacds").  The rollback stops
#    at 00031 with 00049..00032 undone; a rename by hand lets the rerun go on
#    to 00030.  --test-rollback finds 00012 first.  With the five corrected
#    (a copy; only Down sections change) the set goes back to empty.
#  - LucaVas/recruiter: several rollbacks drop a table before the history
#    table that references it, and one drops "job_skills" for "jobs_skills";
#    the rollback stops at the first (create_skills_related_table) with 7
#    changesets undone.  With those rollback lines corrected (a copy; only
#    --rollback lines change) the set goes back to empty.
#  - PandaYaY/ExTrack: 14 of 18 changesets say "--rollback ;" (nothing to
#    undo), add_check_info's rollback drops upsert_shop (a copy-paste slip)
#    and create_user's names other argument types, so the tables and those
#    two functions stay: the rollback succeeds and unrecords all 18; the set
#    deploys again unchanged.  It cannot go back to empty by design.
# The other sets have no rollbacks (PROVENANCE.md says so).
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use Test::More;
use PgChangeTest;

my ($corpus) = grep { -f "$_/PROVENANCE.md" }
  (defined $ENV{PGCHANGE_CORPUS} ? ($ENV{PGCHANGE_CORPUS})
	: ('/work/shared/corpus', srcdir() . '/../shared/corpus'));
if (!defined $corpus)
{
	plan skip_all => 'no corpus: set PGCHANGE_CORPUS to the folder holding PROVENANCE.md'
	  unless defined $ENV{PGCHANGE_CORPUS};
	fail("PGCHANGE_CORPUS=$ENV{PGCHANGE_CORPUS} holds no PROVENANCE.md");
	done_testing();
	exit;
}

my $node = PostgreSQL::Test::Cluster->new('corpus_rollback');
$node->init;
$node->start;

sub dump_schema { return PgChangeTest::dump_schema($node, $_[0]); }

sub query { return $node->safe_psql($_[0], $_[1]); }

my $dbno = 0;

# a fresh database with pgchange installed (and the set's prelude)
sub new_db
{
	my ($dir) = @_;
	my $db = 'corpus_' . ++$dbno;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($dir && -f "$dir/prelude.sql")
	{
		my ($pout, $perr) = ('', '');
		IPC::Run::run(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', connstr($node, $db), '-f', "$dir/prelude.sql" ],
			'>', \$pout, '2>', \$perr);
		is($? >> 8, 0, 'prelude.sql') or diag($perr);
	}
	my ($rc, $out, $err) = pgchange('init', '-d', connstr($node, $db));
	is($rc, 0, "pgchange init $db") or diag($err);
	return $db;
}

sub applied
{
	my ($db) = @_;
	return query($db, 'SELECT count(*) FROM pgchange.registry');
}

my $empty = dump_schema(new_db());

# deploy, check the schema is the tool's
sub deploy_expected
{
	my ($dir, $db, $args, $what) = @_;
	my ($rc, $out, $err) = pgchange_in($dir, 'deploy', '-q', '-d', connstr($node, $db), @$args);
	is($rc, 0, "$what: deploy exits 0") or diag($err);
	is(dump_schema($db), normalise_dump(slurp_file("$dir/EXPECTED_SCHEMA.sql")),
		"$what: the schema is the one upstream's tool made");
	return;
}

# roll everything back; returns (rc, out, err)
sub rollback_all
{
	my ($dir, $db, $args) = @_;
	return pgchange_in($dir, 'rollback', '-d', connstr($node, $db), '--count', '100000',
		@$args);
}

# a copy of a set with rollback lines edited: [file, pattern, replacement,
# how many times it occurs (default 1)]
sub fixed_copy
{
	my ($dir, @edits) = @_;
	my $copy = PostgreSQL::Test::Utils::tempdir('corpus');
	PostgreSQL::Test::RecursiveCopy::copypath($dir, "$copy/set");
	for my $e (@edits)
	{
		my ($file, $pattern, $replacement, $times) = @$e;
		my $path = "$copy/set/$file";
		my $text = slurp_file($path);
		my $n = 0;
		$n++ while $text =~ /$pattern/g;
		$times //= 1;
		die "$file: $pattern matches $n times, not $times" unless $n == $times;
		$text =~ s/$pattern/$replacement/g;
		chmod 0644, $path;
		open my $fh, '>', $path or die "$path: $!";
		print $fh $text;
		close $fh;
	}
	return "$copy/set";
}

# ------------------------------------------------------------------ openfga --
subtest 'openfga/openfga' => sub {
	my $dir = "$corpus/goose/openfga__openfga";
	my @args = ('-c', 'assets/migrations/postgres');
	my $db = new_db($dir);
	deploy_expected($dir, $db, \@args, 'openfga');
	is(query($db, "SELECT rollback_in_transaction FROM pgchange.registry WHERE changeset_id = '6'"), 'f',
		'the NO TRANSACTION migration rolls back outside a transaction');
	my ($rc, $out, $err) = rollback_all($dir, $db, \@args);
	is($rc, 0, 'rollback to nothing exits 0') or diag($err);
	like($out, qr/6 of 6 changeset\(s\) rolled back/, 'all six Down sections ran');
	is(applied($db), '0', 'the registry is empty');
	is(dump_schema($db), $empty, 'the schema is an empty database\'s');
	deploy_expected($dir, $db, \@args, 'openfga again');

	my $t = new_db($dir);
	($rc, $out, $err) = pgchange_in($dir, 'deploy', '-q', '-d', connstr($node, $t), '--test-rollback', @args);
	is($rc, 0, 'deploy --test-rollback passes') or diag($err);
	is(dump_schema($t), normalise_dump(slurp_file("$dir/EXPECTED_SCHEMA.sql")),
		'and leaves the expected schema');
};

# ------------------------------------------------------------- identity-api --
subtest 'DIMO-Network/identity-api' => sub {
	my $dir = "$corpus/goose/DIMO-Network__identity-api";
	my @args = ('-c', 'migrations');
	my $db = new_db($dir);
	deploy_expected($dir, $db, \@args, 'identity-api');
	my ($rc, $out, $err) = rollback_all($dir, $db, \@args);
	is($rc, 1, 'the rollback stops at upstream\'s first bad Down');
	like($err, qr/rollback of changeset migrations\/00031_vehicle_sacd_tbl\.sql::31::goose failed/,
		'at 00031');
	like($err, qr/table "sacds" does not exist/, 'because 00032\'s Down renamed the table to "sacd"');
	is(applied($db), '31', '00049 to 00032 are undone, 00031 is not');
	is(query($db, "SELECT to_regclass('identity_api.sacd') IS NOT NULL"), 't', 'the table is there as "sacd"');

	# the DBA renames it by hand, outside a deployment, so under break-glass
	# (rename-table blocks): the rerun goes on from where it stopped
	query($db, "SET pgchange.break_glass = 'repair a bad Down'; ALTER TABLE identity_api.sacd RENAME TO sacds");
	($rc, $out, $err) = rollback_all($dir, $db, \@args);
	is($rc, 1, 'after a rename by hand the rerun goes on, to the next bad Down');
	like($out, qr/\[1\/31\] rolled back +migrations\/00031_vehicle_sacd_tbl\.sql/, 'starting with 00031');
	like($err, qr/00030_add_vehicle_definition_id\.sql::30::goose failed.*column "device_definition" of relation "vehicles" does not exist/s,
		'00030 drops "device_definition" for "device_definition_id"');
	is(applied($db), '30', '00031 is undone');

	my $t = new_db($dir);
	($rc, $out, $err) = pgchange_in($dir, 'deploy', '-q', '-d', connstr($node, $t), '--test-rollback', @args);
	is($rc, 1, 'deploy --test-rollback finds a bad Down before it is needed');
	like($err, qr/rollback of changeset migrations\/00012_vehicles_privileges_cascade_delete\.sql::12::goose failed.*syntax error at or near "REFERENCES"/s,
		'the first one, in 00012');
	is(applied($t), '12', 'after testing 00001 to 00011; 00012 stays deployed');

	# five Down sections corrected on a copy (the Up sections are untouched)
	my $copy = fixed_copy(
		$dir,
		[
			'migrations/00012_vehicles_privileges_cascade_delete.sql',
			qr/ADD CONSTRAINT vehicle_privileges_vehicle_token_id REFERENCES/,
			'ADD CONSTRAINT vehicle_privileges_vehicle_token_id FOREIGN KEY (token_id) REFERENCES'
		],
		[
			'migrations/00016_aftermarket_require_address.sql',
			qr/ALTER COLUMN address SET NULL;/, 'ALTER COLUMN address DROP NOT NULL;'
		],
		[
			'migrations/00026_require_vehicle_ad_manufacturer.sql',
			qr/ALTER COLUMN manufacturer_id SET NULL;/, 'ALTER COLUMN manufacturer_id DROP NOT NULL;', 2
		],
		[
			'migrations/00030_add_vehicle_definition_id.sql',
			qr/DROP COLUMN device_definition;/, 'DROP COLUMN device_definition_id;'
		],
		[
			'migrations/00032_vehicle_sacd_patches.sql',
			qr/RENAME TO sacd;/, 'RENAME TO sacds;'
		]);
	$db = new_db($dir);
	deploy_expected($copy, $db, \@args, 'identity-api with corrected Down sections');
	($rc, $out, $err) = rollback_all($copy, $db, \@args);
	is($rc, 0, 'with the Down sections corrected the rollback finishes') or diag($err);
	is(applied($db), '0', 'the registry is empty');
	is(dump_schema($db), $empty,
		'the schema is an empty database\'s (00001\'s Down drops the schema the prelude made)');
	deploy_expected($copy, $db, \@args, 'identity-api again');
	$t = new_db($dir);
	($rc, $out, $err) = pgchange_in($copy, 'deploy', '-q', '-d', connstr($node, $t), '--test-rollback', @args);
	is($rc, 0, 'and deploy --test-rollback passes') or diag($err);
};

# ---------------------------------------------------------------- recruiter --
subtest 'LucaVas/recruiter' => sub {
	my $dir = "$corpus/liquibase/LucaVas__recruiter";
	my @args = ('--search-path=server/src/main/resources', '-c', 'db/changelog/db.changelog-master.xml');
	my $db = new_db($dir);
	deploy_expected($dir, $db, \@args, 'recruiter');
	my ($rc, $out, $err) = rollback_all($dir, $db, \@args);
	is($rc, 1, 'the rollback stops at upstream\'s first bad rollback');
	like($err, qr/rollback of changeset \S+create_skills_related_table\.sql::create_skills_related_table::lucavassos failed/,
		'create_skills_related_table');
	like($err, qr/cannot drop table skills because other objects depend on it/,
		'jobs_skills still references skills (the rollback drops "job_skills")');
	like($out, qr/\[7\/16\] rolled back +\S+create_candidates_related_table/, 'after undoing 7 changesets');
	is(applied($db), '9', '9 remain applied');
	is(query($db, "SELECT to_regclass('skills') IS NOT NULL AND to_regclass('skills_history') IS NOT NULL"),
		't', 'nothing of the failed rollback is undone');

	my $tables = 'server/src/main/resources/db/changelog/changesets/tables';
	my $copy = fixed_copy(
		$dir,
		[
			"$tables/2024-09-25_17.43__create_skills_related_table.sql",
			qr/DROP TABLE IF EXISTS job_skills;/, 'DROP TABLE IF EXISTS jobs_skills;'
		],
		map {
			my ($file, $t) = @$_;
			[
				"$tables/$file",
				qr/--rollback DROP TABLE IF EXISTS $t;\n--rollback DROP TABLE IF EXISTS ${t}_history;\n/,
				"--rollback DROP TABLE IF EXISTS ${t}_history;\n--rollback DROP TABLE IF EXISTS $t;\n"
			]
		} (
			[ '2024-09-25_17.37__create_users_table.sql', 'users' ],
			[ '2024-09-25_17.39__create_clients_related_tables.sql', 'clients' ],
			[ '2024-09-25_17.40__create_questionnaires_related_tables.sql', 'questionnaires' ],
			[ '2024-09-25_17.41__create_questions_related_tables.sql', 'questions' ]));
	$db = new_db($dir);
	deploy_expected($copy, $db, \@args, 'recruiter with corrected rollbacks');
	($rc, $out, $err) = rollback_all($copy, $db, \@args);
	is($rc, 0, 'with the rollback lines corrected the rollback finishes') or diag($err);
	is(applied($db), '0', 'the registry is empty');
	is(dump_schema($db), $empty, 'the schema is an empty database\'s');
	deploy_expected($copy, $db, \@args, 'recruiter again');
};

# ------------------------------------------------------------------ ExTrack --
subtest 'PandaYaY/ExTrack' => sub {
	my $dir = "$corpus/liquibase/PandaYaY__ExTrack";
	my @args = ('--search-path=db/Migrations', '-c', 'db-changelog.yaml', '--identity=path');
	my $db = new_db($dir);
	deploy_expected($dir, $db, \@args, 'ExTrack');
	is(query($db, "SELECT count(*) FROM pgchange.registry WHERE rollback_sql = ''"), '14',
		'14 changesets store "--rollback ;": nothing to undo');
	my ($rc, $out, $err) = rollback_all($dir, $db, \@args);
	is($rc, 0, 'the rollback succeeds') or diag($err);
	like($out, qr/18 of 18 changeset\(s\) rolled back/, 'through all 18');
	is(scalar(() = $out =~ /unrecorded/g), 14, '14 of them only unrecorded');
	is(applied($db), '0', 'the registry is empty');
	is( query($db,
			"SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"),
		'add_check_info,create_user',
		'the functions whose rollback names them are gone (add_check_info\'s drops upsert_shop, create_user\'s names other arguments)');
	is( query($db,
			"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
		'8', 'the tables stay: their rollbacks are empty');
	deploy_expected($dir, $db, \@args, 'ExTrack again');
};

$node->stop;
done_testing();
