# End to end: `pgchange checksum FILE` (controller, no database) and
# SELECT pgchange.checksum() (extension) agree on the whole fixture corpus,
# and both match tests/fixtures/checksum/expected.txt.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Encode qw(decode FB_CROAK LEAVE_SRC);
use PgChangeTest;

my $dir = srcdir() . '/tests/fixtures/checksum';
my %expected;
for my $line (split /\n/, slurp_file("$dir/expected.txt"))
{
	my ($name, $sum) = split ' ', $line;
	$expected{$name} = $sum;
}
ok(scalar(keys %expected) >= 40, 'the corpus has at least 40 fixtures');

my $node = PostgreSQL::Test::Cluster->new('checksum');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgchange');

# every file at once through the controller
my @names = sort keys %expected;
my ($rc, $out, $err) = pgchange('checksum', '--json', map { "$dir/$_" } @names);
is($rc, 0, 'pgchange checksum --json exits 0');
my %cli = map { (($_->{file} =~ m{([^/]+)$})[0] => $_->{checksum}) } @{ decode_json($out) };

for my $name (@names)
{
	my $bytes = do { local $/; open my $fh, '<:raw', "$dir/$name" or die; <$fh> };
	is($cli{$name}, $expected{$name}, "$name: controller matches expected.txt");

	# a text value must be valid UTF-8 without NUL bytes
	my $valid = eval { decode("UTF-8", $bytes, FB_CROAK | LEAVE_SRC); 1 } && $bytes !~ /\0/;
	SKIP:
	{
		skip "$name is not valid UTF-8 text", 1 unless $valid;
		my $hex = unpack('H*', $bytes);
		my $sql = $node->safe_psql('postgres',
			"SELECT pgchange.checksum(convert_from(decode('$hex', 'hex'), 'UTF8'))");
		is($sql, $cli{$name}, "$name: SQL pgchange.checksum() matches the controller");
	}
}

# human output: "SUM  FILE", like sha256sum
($rc, $out) = pgchange('checksum', "$dir/empty.sql");
like($out, qr{^1:[0-9a-f]{64}  \Q$dir\E/empty\.sql$}m, 'human output is "SUM  FILE"');

# standard input
($rc, $out) = pgchange('checksum', '-', { stdin => "SELECT 1; -- comment\n" });
my ($stdin_sum) = $out =~ /^(\S+)/;
is($stdin_sum, $node->safe_psql('postgres', "SELECT pgchange.checksum('SELECT 1;')"),
	'standard input, comments ignored, equals the SQL checksum');

# a missing file is an input error naming it
($rc, $out, $err) = pgchange('checksum', "$dir/no-such-file.sql");
is($rc, 2, 'a missing file exits 2');
like($err, qr/could not open file ".*no-such-file\.sql": No such file/, 'the missing file is named');
($rc, $out, $err) = pgchange('checksum');
is($rc, 2, 'no file at all is a usage error');

$node->stop;
done_testing();
