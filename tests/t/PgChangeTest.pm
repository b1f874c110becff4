# PgChangeTest: helpers for the end-to-end tests of the pgchange command.
#
# The tests run the pgchange binary from the private install (first on
# PATH, set up by tests/run) against clusters made by
# PostgreSQL::Test::Cluster.
package PgChangeTest;

use strict;
use warnings;
use Cwd ();
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pgchange pgchange_in connstr srcdir normalise_dump);

# Directory of the source tree (fixtures, examples).
sub srcdir { return $ENV{PGCHANGE_SRCDIR} // '..'; }

# conninfo for a node and database
sub connstr
{
	my ($node, $db) = @_;
	return $node->connstr($db // 'postgres');
}

# pgchange(@args [, {env => {...}, stdin => ...}]) -> (exit code, stdout, stderr)
sub pgchange
{
	my @args = @_;
	my $opts = ref $args[-1] eq 'HASH' ? pop @args : {};
	my ($out, $err) = ('', '');
	my $in = $opts->{stdin} // '';
	local %ENV = (%ENV, %{ $opts->{env} // {} });
	for my $k (keys %{ $opts->{env} // {} })
	{
		delete $ENV{$k} unless defined $opts->{env}{$k};
	}
	IPC::Run::run([ 'pgchange', @args ], \$in, \$out, \$err);
	my $rc = $? >> 8;
	note("pgchange @args => $rc\n$out$err");
	return ($rc, $out, $err);
}

# pgchange run from dir, as Liquibase and goose were run from a corpus set's
# folder: pgchange_in($dir, @args) -> (exit code, stdout, stderr)
sub pgchange_in
{
	my ($dir, @args) = @_;
	my $cwd = Cwd::getcwd();
	chdir $dir or die "chdir $dir: $!";
	my @r = pgchange(@args);
	chdir $cwd or die "chdir $cwd: $!";
	return @r;
}

# A schema dump as shared/corpus/PROVENANCE.md compares them: no \restrict /
# \unrestrict (random keys), no "--" comment lines, runs of blank lines
# folded.  The extension itself shows up only as its CREATE EXTENSION and
# COMMENT (its schema is excluded with -N, its member objects are never
# dumped).
sub normalise_dump
{
	my ($text) = @_;
	my @out;
	for my $line (split /\n/, $text)
	{
		next if $line =~ /^\\(?:un)?restrict\b/;
		next if $line =~ /^--/;
		next if $line =~ /^CREATE EXTENSION (?:IF NOT EXISTS )?pgchange\b/;
		next if $line =~ /^COMMENT ON EXTENSION pgchange\b/;
		next if $line eq '' && (!@out || $out[-1] eq '');
		push @out, $line;
	}
	pop @out while @out && $out[-1] eq '';
	return join("\n", @out) . "\n";
}

# dump_schema($node, $db): the normalised schema of a database, pgchange's
# own schema left out
sub dump_schema
{
	my ($node, $db) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'pg_dump', '--schema-only', '--no-owner', '--no-privileges',
			'-N', 'pgchange', '-d', connstr($node, $db)
		],
		'>', \$out, '2>', \$err) or die "pg_dump failed: $err";
	return normalise_dump($out);
}

1;
