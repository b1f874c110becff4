# End to end: real-world compatibility.  Every migration set of the corpus
# (5 Liquibase formatted-SQL sets, 3 goose sets, copied unmodified from public
# repositories; see the corpus's PROVENANCE.md) is deployed with the pgchange
# binary into a fresh database, and the schema pg_dump then shows must be the
# one real Liquibase / goose produced (EXPECTED_SCHEMA.sql).  Then, per set:
# a second deploy changes nothing, status is clean, a comment-only edit still
# validates and a statement edit fails validation with exit 4.
#
# Corpus: $PGCHANGE_CORPUS, else /work/shared/corpus, else
# <srcdir>/../shared/corpus (CI clones shared/ beside the repository).
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
	# a corpus asked for by name must be there; none at all just skips
	plan skip_all => 'no corpus: set PGCHANGE_CORPUS to the folder holding PROVENANCE.md'
	  unless defined $ENV{PGCHANGE_CORPUS};
	fail("PGCHANGE_CORPUS=$ENV{PGCHANGE_CORPUS} holds no PROVENANCE.md");
	done_testing();
	exit;
}

# The sets, run as PROVENANCE.md says: from the set's folder, with its search
# path and options.  recorded: changesets in the registry after the first
# deploy.  retried: failOnError:false changesets that fail on purpose and
# stay unrecorded.  comment / statement: [file, pattern, replacement] edits
# of an applied changeset (a comment only, and something that executes).
# rerun: [file, pattern, replacement, SQL that says t once it reran] edits a
# runOnChange:true changeset.  policy: settings pushed before the first
# deploy, where the default policy would refuse what Liquibase ran.
# deploy_stderr / extra: more checks of the
# first deploy's stderr / of the deployed database.
my @sets = (
	{
		name => 'mfvanek/pg-index-health-demo',
		dir => 'liquibase/mfvanek__pg-index-health-demo',
		args => [
			'--search-path=db-migrations/src/main/resources',
			'-c', 'db/changelog/db.changelog-master.yaml'
		],
		recorded => 40,
		retried => ['2020.01.02:create.unique.index.on.email'],
		# the 82-character index name: an error under the default policy
		policy => '{"rules": {"identifier-too-long": "warn"}}',
		deploy_stderr => sub {
			my ($err) = @_;
			unlike($err, qr/^pgchange: error:/m,
				'the failOnError:false failure is reported as warnings, not errors');
			is(scalar(() = $err =~ /will be truncated to/g), 1,
				'the 82-character index name is reported truncated once, as Liquibase does');
		},
		comment => [
			'db-migrations/src/main/resources/db/changelog/sql/dictionary.sql',
			qr/-- noqa: disable=RF05/, '-- noqa: disable=RF05 (reviewed)'
		],
		statement => [
			'db-migrations/src/main/resources/db/changelog/sql/warehouse.sql',
			qr/\bname varchar\(255\) not null/, 'title varchar(255) not null'
		],
	},
	{
		name => 'PandaYaY/ExTrack',
		dir => 'liquibase/PandaYaY__ExTrack',
		# nearly every file holds agalimianov:1: only the path tells them apart
		args => [ '--search-path=db/Migrations', '-c', 'db-changelog.yaml', '--identity=path' ],
		recorded => 18,
		# CRLF file: the inserted comment line keeps its line ending
		comment => [
			'db/Migrations/001_public/001_tables/001_roles/001_table.sql',
			qr/\(\r\n    id   smallint/, "(\r\n    -- the role's number\r\n    id   smallint"
		],
		statement => [
			'db/Migrations/001_public/001_tables/001_roles/001_table.sql',
			qr/name text unique/, 'title text unique'
		],
		# runOnChange:true, a body in a single-quoted string
		rerun => [
			'db/Migrations/001_public/002_functions/001_create_user.sql',
			qr/returning id into user_id;/, 'returning users.id into user_id;',
			"SELECT prosrc LIKE '%returning users.id into%' FROM pg_proc WHERE proname = 'create_user'"
		],
	},
	{
		name => 'garystafford/spring-postgresql-demo',
		dir => 'liquibase/garystafford__spring-postgresql-demo',
		# six files, one id: gary.stafford:elections-sql
		args => [
			'--search-path=src/main/resources',
			'-c', 'db/changelog/db.changelog-master.yaml', '--identity=path'
		],
		recorded => 6,
		comment => [
			'src/main/resources/db/changelog/changes/v0002.sql',
			qr/-- View all candidates for all elections by election/,
			'-- Every candidate of every election'
		],
		statement => [
			'src/main/resources/db/changelog/changes/v0002.sql',
			qr/candidate\.first_name,/, 'candidate.first_name AS given_name,'
		],
	},
	{
		name => 'LucaVas/recruiter',
		dir => 'liquibase/LucaVas__recruiter',
		args => [
			'--search-path=server/src/main/resources',
			'-c', 'db/changelog/db.changelog-master.xml'
		],
		recorded => 16,
		comment => [
			'server/src/main/resources/db/changelog/changesets/tables/2024-09-25_17.36__create_roles_table.sql',
			qr/CREATE TABLE roles \(\n/, "CREATE TABLE roles ( -- one row per role\n"
		],
		statement => [
			'server/src/main/resources/db/changelog/changesets/tables/2024-09-25_17.36__create_roles_table.sql',
			qr/name VARCHAR\(60\)/, 'name VARCHAR(80)'
		],
	},
	{
		name => 'epam/edp-ddm-registry-postgres (camunda)',
		dir => 'liquibase/epam__edp-ddm-registry-postgres',
		args => [
			'--search-path=platform-db/changesets',
			'-c', 'camunda-changelog.xml',
			'--defaults-file=changelog-parameters.properties'
		],
		recorded => 8,
		comment => [
			'platform-db/changesets/camunda/00070_create-decision-history.sql',
			qr/-- create history decision instance table --/,
			'-- history of decision instances --'
		],
		statement => [
			'platform-db/changesets/camunda/00070_create-decision-history.sql',
			qr/DEC_DEF_NAME_ varchar\(255\)/, 'DEC_DEF_LABEL_ varchar(255)'
		],
		extra => \&camunda_checks,
	},
	{
		name => 'openfga/openfga',
		dir => 'goose/openfga__openfga',
		args => [ '-c', 'assets/migrations/postgres' ],
		recorded => 6,
		comment => [
			'assets/migrations/postgres/001_initialize_schema.sql',
			qr/\t\tulid TEXT NOT NULL,\n/, "\t\tulid TEXT NOT NULL, -- sortable id\n"
		],
		statement => [
			'assets/migrations/postgres/001_initialize_schema.sql',
			qr/\t\tulid TEXT NOT NULL,/, "\t\tulid VARCHAR(26) NOT NULL,"
		],
	},
	{
		name => 'DIMO-Network/identity-api',
		dir => 'goose/DIMO-Network__identity-api',
		args => [ '-c', 'migrations' ],
		recorded => 49,
		comment => [
			'migrations/00042_create_connections_table.sql',
			qr/-- design will change\./, '-- design will change soon.'
		],
		statement => [
			'migrations/00042_create_connections_table.sql',
			qr/minted_at timestamptz NOT NULL/, 'minted_at timestamp NOT NULL'
		],
	},
	{
		name => 'hatchet-dev/hatchet (83 files)',
		dir => 'goose/hatchet-dev__hatchet',
		args => [ '-c', 'cmd/hatchet-migrate/migrate/migrations' ],
		recorded => 83,
		comment => [
			'cmd/hatchet-migrate/migrate/migrations/20240626204339_v0_34_2.sql',
			qr/-- Create "SecurityCheckIdent" table/, '-- Create the "SecurityCheckIdent" table'
		],
		statement => [
			'cmd/hatchet-migrate/migrate/migrations/20240626204339_v0_34_2.sql',
			qr/CREATE TABLE "SecurityCheckIdent" \("id" uuid NOT NULL/,
			'CREATE TABLE "SecurityCheckIdent" ("ident" uuid NOT NULL'
		],
	},
);

my $node = PostgreSQL::Test::Cluster->new('corpus');
$node->init;
$node->start;

sub dump_schema { return PgChangeTest::dump_schema($node, $_[0]); }

# A line diff for diag(): diff -u when there is one, else the differing
# middle once the common head and tail are cut off.
sub line_diff
{
	my ($expected, $got) = @_;
	my $tmp = PostgreSQL::Test::Utils::tempdir('diff');
	for (['expected', $expected], ['got', $got])
	{
		open my $fh, '>', "$tmp/$_->[0]" or die;
		print $fh $_->[1];
		close $fh;
	}
	my $out = '';
	my $ran = eval { IPC::Run::run([ 'diff', '-u', "$tmp/expected", "$tmp/got" ], '>', \$out); 1 };
	return $out if $ran && $out ne '';
	my @e = split /\n/, $expected;
	my @g = split /\n/, $got;
	my $head = 0;
	$head++ while $head < @e && $head < @g && $e[$head] eq $g[$head];
	my $tail = 0;
	$tail++
	  while $tail < @e - $head && $tail < @g - $head && $e[-1 - $tail] eq $g[-1 - $tail];
	return "@@ line " . ($head + 1) . " @@\n"
	  . join('', map { "-$_\n" } @e[ $head .. $#e - $tail ])
	  . join('', map { "+$_\n" } @g[ $head .. $#g - $tail ]);
}

# The project's registry rows, in order, with everything that identifies
# and dates them: equal snapshots mean nothing was recorded or changed.
sub registry
{
	my ($db, $project) = @_;
	$project //= 'default';
	return $node->safe_psql($db,
		"SELECT string_agg(concat_ws(' ', exec_order, changeset_id, author, identity_path, path, "
		  . "checksum, exec_type, applied_at), E'\\n' ORDER BY exec_order) "
		  . "FROM pgchange.registry WHERE project = '$project'");
}

# Edit one file of a copied set in place (bytes as they are: BOM, CRLF)
sub edit_file
{
	my ($root, $edit) = @_;
	my ($file, $pattern, $replacement) = @$edit;
	my $path = "$root/$file";
	open my $in, '<:raw', $path or die "$path: $!";
	my $text = do { local $/; <$in> };
	close $in;
	my $n = () = $text =~ /$pattern/g;
	die "$file: the edit pattern $pattern matches $n times, not once" unless $n == 1;
	$text =~ s/$pattern/$replacement/;
	chmod 0644, $path;
	open my $out, '>:raw', $path or die "$path: $!";
	print $out $text;
	close $out;
	return;
}

# epam/camunda: privileges (not in the dump) came from the ${...} changelog
# parameters, and the onFail:MARK_RAN preconditions hold on a database that
# already has the tables: deployed again as another project, 7 changesets
# are marked ran and only the unconditional grant-access runs.
sub camunda_checks
{
	my ($db, $dir, $set, $expected) = @_;
	is( $node->safe_psql(
			$db,
			"SELECT has_table_privilege('bpm_service_user', 'act_ge_property', 'INSERT') "
			  . "AND has_table_privilege('bp_admin_portal_service_user', 'act_ru_task', 'UPDATE') "
			  . "AND NOT has_table_privilege('public', 'act_ge_property', 'SELECT')"),
		't',
		'grants went to the roles named by the defaults file parameters');
	my ($rc, $out, $err) = pgchange_in($dir, 'deploy', '-d', connstr($node, $db),
		'-p', 'camunda-again', @{ $set->{args} });
	is($rc, 0, 'a second project over the same tables deploys') or diag($err);
	is( $node->safe_psql(
			$db,
			"SELECT string_agg(exec_type || ' ' || n, ', ' ORDER BY exec_type) FROM "
			  . "(SELECT exec_type, count(*) AS n FROM pgchange.registry "
			  . "WHERE project = 'camunda-again' GROUP BY 1) s"),
		'executed 1, mark_ran 7',
		'preconditions onFail:MARK_RAN mark the existing tables ran');
	is(dump_schema($db), $expected, 'and the schema is unchanged');
	return;
}

my $dbno = 0;
for my $set (@sets)
{
	subtest $set->{name} => sub {
		my $dir = "$corpus/$set->{dir}";
		my $db = 'corpus_' . ++$dbno;
		my $conn = connstr($node, $db);
		my @args = @{ $set->{args} };
		my ($rc, $out, $err);

		$node->safe_psql('postgres', "CREATE DATABASE $db");
		if (-f "$dir/prelude.sql")
		{
			# identity-api's prelude sets the database's search_path: every
			# later connection (psql, pgchange) is a new one and gets it
			my ($pout, $perr) = ('', '');
			IPC::Run::run(
				[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $conn, '-f', "$dir/prelude.sql" ],
				'>', \$pout, '2>', \$perr);
			is($? >> 8, 0, 'prelude.sql') or diag($perr);
		}
		($rc, $out, $err) = pgchange('init', '-d', $conn);
		is($rc, 0, 'pgchange init') or diag($err);
		# Liquibase ran these changelogs: relax what the policy would refuse
		$node->safe_psql($db, "SELECT pgchange.policy_push('$set->{policy}')")
		  if $set->{policy};

		if (grep { $_ eq '--identity=path' } @args)
		{
			($rc, $out, $err) = pgchange_in($dir, 'deploy', '-d', $conn,
				grep { $_ ne '--identity=path' } @args);
			is($rc, 2, 'without --identity=path the reused ids are refused');
			like($err, qr/hint: .*pgchange deploy --identity=path/, 'and the hint names the option');
		}
		($rc, $out, $err) = pgchange_in($dir, 'deploy', '-d', $conn, @args);
		is($rc, 0, 'deploy exits 0') or diag($err);
		is($node->safe_psql($db, "SELECT count(*) FROM pgchange.registry"),
			$set->{recorded}, "$set->{recorded} changesets recorded");
		for my $id (@{ $set->{retried} // [] })
		{
			like($err, qr/changeset \Q$id\E failed; failOnError:false/,
				"$id failed on purpose and the deploy went on");
		}
		$set->{deploy_stderr}->($err) if $set->{deploy_stderr};

		my $expected = normalise_dump(slurp_file("$dir/EXPECTED_SCHEMA.sql"));
		my $got = dump_schema($db);
		my $tool = $set->{dir} =~ /^goose/ ? 'goose' : 'Liquibase';
		is($got, $expected, "the schema is the one $tool made")
		  or diag(line_diff($expected, $got));
		unlike($got, qr/pgchange/, 'nothing of pgchange is left in the dump');

		# Liquibase runs an unrecorded failOnError:false changeset again on
		# every update; here its CREATE UNIQUE INDEX CONCURRENTLY IF NOT
		# EXISTS meets the INVALID index of the first try and succeeds.
		my $before = registry($db);
		if (@{ $set->{retried} // [] })
		{
			($rc, $out, $err) = pgchange_in($dir, 'deploy', '--json', '-d', $conn, @args);
			is($rc, 0, 'the second deploy exits 0') or diag($err);
			is_deeply([ map { $_->{id} } @{ decode_json($out)->{changesets} } ],
				$set->{retried}, 'it retries only the failOnError:false changesets');
			my $after = registry($db);
			is(substr($after, 0, length $before), $before, 'the recorded rows are unchanged');
			$before = $after;
		}
		($rc, $out, $err) = pgchange_in($dir, 'deploy', '--json', '-d', $conn, @args);
		is($rc, 0, 'a repeated deploy exits 0') or diag($err);
		is(scalar @{ decode_json($out)->{changesets} }, 0, 'and runs nothing');
		is(registry($db), $before, 'the registry is unchanged');
		($rc, $out, $err) = pgchange_in($dir, 'status', '--exit-code', '-d', $conn, @args);
		is($rc, 0, 'status --exit-code exits 0') or diag($out . $err);

		$set->{extra}->($db, $dir, $set, $expected) if $set->{extra};

		# edits, on a copy: the corpus is never modified
		my $copy = PostgreSQL::Test::Utils::tempdir('corpus');
		PostgreSQL::Test::RecursiveCopy::copypath($dir, "$copy/set");
		$copy .= '/set';
		edit_file($copy, $set->{comment});
		($rc, $out, $err) = pgchange_in($copy, 'validate', '-d', $conn, @args);
		is($rc, 0, 'a comment edited in an applied changeset still validates') or diag($out . $err);
		if ($set->{rerun})
		{
			edit_file($copy, $set->{rerun});
			($rc, $out, $err) = pgchange_in($copy, 'deploy', '--json', '-d', $conn, @args);
			is($rc, 0, 'a runOnChange:true changeset edited: deploy exits 0') or diag($err);
			is(join(',', map { $_->{result} } @{ decode_json($out)->{changesets} }),
				'reran', 'it reruns that changeset alone');
			is($node->safe_psql($db, $set->{rerun}[3]), 't', 'and the new text is in effect');
			$before = registry($db);
		}
		edit_file($copy, $set->{statement});
		my $file = $set->{statement}[0];
		($rc, $out, $err) = pgchange_in($copy, 'validate', '-d', $conn, @args);
		is($rc, 4, 'a statement edited in an applied changeset fails validation');
		like($out, qr/\Q$file\E:\d+ +\| changed +\| blocked/, 'and lists that changeset as changed');
		($rc, $out, $err) = pgchange_in($copy, 'deploy', '-d', $conn, @args);
		is($rc, 4, 'deploy refuses it with exit 4');
		like($err, qr/\Q$file\E:\d+: changeset \S+ was changed after it was applied/,
			'naming the file and the changeset');
		is(registry($db), $before, 'and records nothing');
	};
}

$node->stop;
done_testing();
