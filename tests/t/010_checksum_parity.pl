# End to end: pgchange.checksum() in the server agrees, byte for byte, with
# the checksum corpus tests/fixtures/checksum/expected.txt, which the
# controller's unit test (tests/unit/test_checksum.c) asserts for the C
# normaliser on the controller side: so the database and the controller
# compute the same checksum for every fixture.
#
# The fixtures carry CRLF, byte order marks and trailing whitespace that
# psql variables would mangle, so each file's bytes travel as hex and are
# turned back into text in the server (convert_from(decode(hex))), and a
# second time through pg_read_file(), the way a DBA would check a file.
use strict;
use warnings;
use Cwd qw(abs_path);
use Encode qw(decode);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgChangeTest;

my $dir = abs_path(srcdir() . '/tests/fixtures/checksum');

# --- the corpus ----------------------------------------------------------
my %expected;
open my $fh, '<', "$dir/expected.txt" or die "cannot open $dir/expected.txt: $!";
while (my $line = <$fh>)
{
	chomp $line;
	next if $line =~ /^\s*(#|$)/;
	like($line, qr/^\S+\.sql 1:[0-9a-f]{64}$/, "expected.txt line is NAME.sql 1:<64 hex>: $line")
	  or next;
	my ($name, $sum) = split / /, $line;
	$expected{$name} = $sum;
}
close $fh;

opendir my $dh, $dir or die "cannot open $dir: $!";
my @files = sort grep { /\.sql$/ && -f "$dir/$_" } readdir $dh;
closedir $dh;
cmp_ok(scalar(@files), '>=', 40, 'the corpus has fixtures');
is_deeply([ sort keys %expected ], \@files, 'expected.txt lists exactly the fixture files');

# --- a server with the extension -----------------------------------------
my $node = PostgreSQL::Test::Cluster->new('parity');
$node->init;
$node->start;
$node->safe_psql('postgres',
	"CREATE DATABASE parity ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('parity', 'CREATE EXTENSION pgchange');

# Read every fixture; a text value cannot hold NUL or invalid UTF-8, so
# such a fixture is for the controller only and is skipped here.
my (%hex, %skip);
for my $name (@files)
{
	open my $in, '<:raw', "$dir/$name" or die "cannot open $dir/$name: $!";
	my $bytes = do { local $/; <$in> };
	close $in;
	my $copy = $bytes;
	if ($bytes =~ /\0/ || !eval { decode('UTF-8', $copy, Encode::FB_CROAK); 1 })
	{
		$skip{$name} = 1;
		next;
	}
	$hex{$name} = unpack('H*', $bytes);
}

# One query for all of them; hex needs no quoting beyond the quotes
my @have = sort keys %hex;
my %got_hex;
if (@have)
{
	my $values = join(",\n", map { "('$_', '$hex{$_}')" } @have);
	my $out = $node->safe_psql('parity', qq{
		SELECT name, pgchange.checksum(convert_from(decode(hex, 'hex'), 'UTF8'))
		  FROM (VALUES $values) AS f(name, hex) ORDER BY name});
	for my $row (split /\n/, $out)
	{
		my ($name, $sum) = split /\|/, $row;
		$got_hex{$name} = $sum;
	}
}

# The same through pg_read_file(), which reads the file in the server
my %got_file;
{
	my $values = join(",\n", map { "('$_')" } @have);
	my $out = $node->safe_psql('parity', qq{
		SELECT name, pgchange.checksum(pg_read_file(\$d\$$dir/\$d\$ || name))
		  FROM (VALUES $values) AS f(name) ORDER BY name});
	for my $row (split /\n/, $out)
	{
		my ($name, $sum) = split /\|/, $row;
		$got_file{$name} = $sum;
	}
}

for my $name (@files)
{
  SKIP:
	{
		skip "$name is not valid UTF-8 text (controller-only fixture)", 2 if $skip{$name};
		is($got_hex{$name}, $expected{$name}, "$name: pgchange.checksum() equals expected.txt");
		is($got_file{$name}, $got_hex{$name}, "$name: the same through pg_read_file()");
	}
}
note('skipped (not valid UTF-8): ' . join(', ', sort keys %skip)) if %skip;

# --- pairs: eq_X_a = eq_X_b, ne_X_a <> ne_X_b ------------------------------
my $pairs = 0;
for my $fa (grep { /^(eq|ne)_.*_a\.sql$/ } @files)
{
	(my $fb = $fa) =~ s/_a\.sql$/_b.sql/;
	next unless exists $got_hex{$fa} && exists $got_hex{$fb};
	my ($kind, $what) = $fa =~ /^(eq|ne)_(.*)_a\.sql$/;
	if ($kind eq 'eq')
	{
		is($got_hex{$fa}, $got_hex{$fb}, "eq pair $what: the two versions have one checksum");
	}
	else
	{
		isnt($got_hex{$fa}, $got_hex{$fb}, "ne pair $what: the two versions have different checksums");
	}
	$pairs++;
}
cmp_ok($pairs, '>=', 10, 'the corpus has eq and ne pairs');

# the empty body and the comment-only body are the SHA-256 of nothing
is($node->safe_psql('parity', "SELECT pgchange.checksum('')"),
	'1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
	'the checksum of the empty body is the SHA-256 of nothing');

$node->stop;
done_testing();
