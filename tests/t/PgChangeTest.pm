# PgChangeTest: helpers for the end-to-end tests of the pgchange command.
#
# The tests run the pgchange binary from the private install (first on
# PATH, set up by tests/run) against clusters made by
# PostgreSQL::Test::Cluster.
package PgChangeTest;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pgchange connstr srcdir);

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

1;
