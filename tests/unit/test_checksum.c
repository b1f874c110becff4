/*-------------------------------------------------------------------------
 *
 * test_checksum.c
 *	  Unit tests of the changeset normaliser and checksum (common/checksum.c).
 *
 * The table of inline cases is the specification test: it pins the exact
 * normalised text for every rule in checksum.c's header.  Then known
 * SHA-256 values, the fixture corpus in tests/fixtures/checksum (shared
 * with the extension's tests through expected.txt), its eq_ and ne_ pairs,
 * properties over generated inputs (never longer, never reading past
 * len: run under valgrind or ASan to check the latter), and a differential
 * check against psql_scan, which the controller splits statements with.
 *
 * Fixtures are found in $PGCHANGE_SRCDIR/tests/fixtures/checksum, or in
 * tests/fixtures/checksum below the current directory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>

#include "checksum.h"
#include "fe_utils/psqlscan.h"
#include "mb/pg_wchar.h"
#include "pqexpbuffer.h"
#include "tap.h"

/* an input and its exact normalised form, lengths counting any NULs */
typedef struct NormCase
{
	const char *name;
	const char *in;
	size_t		inlen;
	const char *out;
	size_t		outlen;
} NormCase;

#define CASE(name, in, out) {name, in, sizeof(in) - 1, out, sizeof(out) - 1}

static const NormCase norm_cases[] = {
	/* rule 1: CRLF and BOM */
	CASE("empty body", "", ""),
	CASE("BOM only", "\xEF\xBB\xBF", ""),
	CASE("leading BOM dropped", "\xEF\xBB\xBFSELECT 1;", "SELECT 1;"),
	CASE("BOM not at the start is kept", "SELECT '\xEF\xBB\xBF';", "SELECT '\xEF\xBB\xBF';"),
	CASE("CRLF between tokens folds", "SELECT\r\n1;\r\n", "SELECT 1;"),
	CASE("CRLF in a literal becomes LF", "'a\r\nb'", "'a\nb'"),
	CASE("lone CR in a literal kept", "'a\rb'", "'a\rb'"),
	CASE("CRLF in a quoted identifier", "\"a\r\nb\"", "\"a\nb\""),
	CASE("CRLF in a dollar body", "$$a\r\nb$$", "$$a\nb$$"),
	CASE("CRLF in an E-string", "E'a\r\nb'", "E'a\nb'"),
	CASE("escaped CRLF in an E-string", "E'a\\\r\nb'", "E'a\\\nb'"),
	CASE("CR CR LF in a literal", "'\r\r\n'", "'\r\n'"),

	/* rule 2: comments */
	CASE("line comment only", "-- only a comment", ""),
	CASE("block comment only", "/* c */", ""),
	CASE("comment is whitespace", "a/**/b", "a b"),
	CASE("line comment is whitespace", "a--x\nb", "a b"),
	CASE("line comment ends at CR", "SELECT 1 --c\rSELECT 2", "SELECT 1 SELECT 2"),
	CASE("nested block comment", "a /* x /* y */ z */ b", "a b"),
	CASE("slash-star-slash nests", "/* /*/ */ */x", "x"),
	CASE("comment inside operator run", "SELECT/*x*/*/*y*/FROM t", "SELECT*FROM t"),
	CASE("star-slash outside a comment is an operator", "a */ b", "a*/b"),
	CASE("dash-dash inside an operator run", "a +-- c\n1", "a+1"),
	CASE("comments and whitespace before a statement", "/* a */ -- b\n /* c */ SELECT", "SELECT"),

	/* rule 3: folding */
	CASE("whitespace only", "  \t\n\r\n\f ", ""),
	CASE("leading and trailing dropped", "  SELECT   1 ;  ", "SELECT 1;"),
	CASE("word word keeps a space", "select  1", "select 1"),
	CASE("word operator drops", "x = 1", "x=1"),
	CASE("punctuation drops", "f ( a , b ) ;", "f(a,b);"),
	CASE("brackets drop", "a [ 1 ]", "a[1]"),
	CASE("minus minus stays apart", "a - -1", "a- -1"),
	CASE("minus minus one stays apart", "a - - 1", "a- -1"),
	CASE("colon colon stays apart", "x : : int", "x: : int"),
	CASE("typecast folds", "x :: int", "x::int"),
	CASE("colon then name stays apart (psql variable)", "a[1 : n]", "a[1: n]"),
	CASE("colon then quote stays apart", "x : 'v'", "x: 'v'"),
	CASE("colon then brace stays apart", "x : {?v}", "x: {?v}"),
	CASE("typecast then name folds", "x ::\n int", "x::int"),
	CASE("three colons then name stay apart", "x ::: y", "x::: y"),
	CASE("colon then number folds", "a[1 :2]", "a[1:2]"),
	CASE("less equal stays apart", "a <  = b", "a< =b"),
	CASE("dot keeps a space before", "1 .5", "1 .5"),
	CASE("dot keeps a space after", "a . b", "a . b"),
	CASE("dot dot", "1 ..10", "1 ..10"),
	CASE("E then quote stays apart", "E 'x'", "E 'x'"),
	CASE("two literals on a line", "'a' 'b'", "'a' 'b'"),
	CASE("two literals across a newline", "'a'\n'b'", "'a'\n'b'"),
	CASE("two literals across CRLF", "'a'\r\n'b'", "'a'\n'b'"),
	CASE("two literals across CR", "'a'\r'b'", "'a'\n'b'"),
	CASE("two literals across a line comment", "'a'  -- c\n  'b'", "'a'\n'b'"),
	CASE("two literals across a block comment", "'a' /* c */\n'b'", "'a' 'b'"),
	CASE("block comment anywhere stops continuation", "'a' -- c\n/* d */\n'b'", "'a' 'b'"),
	CASE("dollar string then literal", "$$a$$\n'b'", "$$a$$ 'b'"),
	CASE("quoted identifiers stay apart", "\"a\" \"b\"", "\"a\" \"b\""),
	CASE("U& then quote stays apart", "U& 'x'", "U& 'x'"),
	CASE("U then & stays apart", "U &'x'", "U &'x'"),
	CASE("exponent then sign stays apart", "1e -5", "1e -5"),
	CASE("exponent sign then digit stays apart", "1e- 5", "1e- 5"),
	CASE("exponent sign across a comment", "1e-/**/5", "1e- 5"),
	CASE("real number then operator folds", "1e-5 + 2", "1e-5+2"),
	CASE("identifier ending in e folds", "abe -1", "abe-1"),
	CASE("minus after a name folds", "x -1", "x-1"),
	CASE("numbers stay apart", "1 2", "1 2"),
	CASE("form feed is whitespace", "a\fb", "a b"),
	CASE("UTF-8 identifiers", "\xC3\xA9  =  '\xC3\xBC'", "\xC3\xA9='\xC3\xBC'"),
	CASE("UTF-8 words stay apart", "\xC3\xA9 \xC3\xBC", "\xC3\xA9 \xC3\xBC"),
	CASE("semicolons", "SELECT 1;;\n;SELECT 2 ;", "SELECT 1;;;SELECT 2;"),

	/* rule 4: tokens */
	CASE("doubled quote", "'it''s'  x", "'it''s' x"),
	CASE("E-string escaped quote", "E'it\\'s  -- x'  y", "E'it\\'s  -- x' y"),
	CASE("E-string escaped backslash", "E'\\\\'  y", "E'\\\\' y"),
	CASE("E-string escaped quote then doubled", "E'\\''  x", "E'\\'' x"),
	CASE("lower-case e prefix", "e'\\''  x", "e'\\'' x"),
	CASE("comment markers in a literal", "'--x' , '/*y*/'", "'--x','/*y*/'"),
	CASE("comment markers in identifiers", "\"a -- b\"  ,  \"c/*d\"", "\"a -- b\",\"c/*d\""),
	CASE("doubled quote in an identifier", "\"a\"\"b -- c\"  x", "\"a\"\"b -- c\" x"),
	CASE("dollar body untouched", "$$ a  -- b /* c */ $$", "$$ a  -- b /* c */ $$"),
	CASE("tagged dollar holds $$", "$body$ x $$ y $$ z $body$  ;", "$body$ x $$ y $$ z $body$;"),
	CASE("dollar tags nest", "$a$ $b$ x $b$ $a$", "$a$ $b$ x $b$ $a$"),
	CASE("dollar tag with UTF-8", "$\xC3\xA9$ x  y $\xC3\xA9$ ;", "$\xC3\xA9$ x  y $\xC3\xA9$;"),
	CASE("dollar tags are case sensitive", "$a$ $A$ x $a$", "$a$ $A$ x $a$"),
	CASE("dollar after a close", "$a$x$a$$", "$a$x$a$$"),
	CASE("dollar inside an identifier", "a$b$c  = 1", "a$b$c=1"),
	CASE("dollar-dollar inside an identifier", "x$$ -- $$\ny", "x$$ y"),
	CASE("lone dollar", "$ab  c", "$ab c"),
	CASE("parameters", "$1  + $2", "$1+$2"),
	CASE("parameters stay apart", "$1 $2", "$1 $2"),
	CASE("dollar then digit is a parameter", "$1$$ x", "$1$$ x"),
	CASE("U& string", "U&'d\\0061t'  x", "U&'d\\0061t' x"),
	CASE("U& identifier", "u&\"id\"  ,", "u&\"id\","),
	CASE("bit and hex strings", "B'101'  ||  X'1F'", "B'101'||X'1F'"),
	CASE("national string", "N'x'  ||  n'y'", "N'x'||n'y'"),
	CASE("typed literal", "date  '2020-01-01'", "date '2020-01-01'"),
	CASE("prefix letter inside an identifier", "xe'a'", "xe'a'"),

	/* rule 5: a backslash in a standard literal */
	CASE("backslash in a literal: rest verbatim", "SELECT  'a\\b'  ,  1 -- c\n", "SELECT 'a\\b'  ,  1 -- c\n"),
	CASE("backslash-quote in a literal", "SELECT 'a\\'  -- b'\n", "SELECT 'a\\'  -- b'\n"),
	CASE("backslash in N literal", "SELECT  N'a\\b'  -- c", "SELECT N'a\\b'  -- c"),
	CASE("backslash in B literal", "B'1\\0' -- x", "B'1\\0' -- x"),
	CASE("backslash verbatim keeps CRLF->LF", "'\\'\r\n  x", "'\\'\n  x"),

	/* rule 6: bytes read differently across versions or clients */
	CASE("vertical tab: verbatim from the run", "a \v b", "a \v b"),
	CASE("vertical tab after a token", "a\v b", "a\v b"),
	CASE("psql meta-command", "SELECT 1 \\gset\n x", "SELECT 1 \\gset\n x"),
	CASE("number then dollar", "1e$$ -- $$", "1e$$ -- $$"),
	CASE("hex number then dollar", "SELECT  0x1$$ -- $$", "SELECT 0x1$$ -- $$"),
	CASE("number then quote", "SELECT  1e'x'  ", "SELECT 1e'x'  "),
	CASE("exponent then dash-dash", "SELECT  1e--x\n ;", "SELECT 1e--x\n ;"),
	CASE("psql variable then dollar", "SELECT  :a$$ -- $$", "SELECT:a$$ -- $$"),
	CASE("psql variable then quote", "SELECT  :e'x'  ", "SELECT:e'x'  "),
	CASE("psql variable then U&", "SELECT  :U&'x'  ", "SELECT:U&'x'  "),
	CASE("typecast then E-string is not a variable", "x ::e'a'  , 1", "x::e'a',1"),
	CASE("colon name then other", "SELECT  :a  +  1", "SELECT:a+1"),

	/* rule 7: unterminated */
	CASE("unterminated literal", "SELECT 'unterminated  --  x", "SELECT 'unterminated  --  x"),
	CASE("unterminated doubled quote", "x  'abc''", "x 'abc''"),
	CASE("unterminated identifier", "SELECT \"unterminated  x", "SELECT \"unterminated  x"),
	CASE("unterminated dollar", "$$ unterminated  x", "$$ unterminated  x"),
	CASE("unterminated E-string", "E'unterminated \\", "E'unterminated \\"),
	CASE("unterminated nested comment", "a /* x /* y */ b", "a/* x /* y */ b"),
	CASE("unterminated comment after a run", "  /* x", "/* x"),
	CASE("unterminated comment after quote", "'a' /* x", "'a'/* x"),
	CASE("unterminated comment straight after an operator", "+/* x", "+/* x"),
	CASE("unterminated comment after operator and space", "+ /* x", "+ /* x"),
	CASE("line comment at end without newline", "SELECT 1 -- c", "SELECT 1"),
	CASE("NUL is an ordinary byte", "a \0 b", "a\0b"),
	CASE("NUL inside a literal", "'\0'  x", "'\0' x"),

	/* rule 8: no case folding */
	CASE("keyword case kept", "SeLeCt  1", "SeLeCt 1"),
};

/* Print a byte string for a diagnostic line */
static void
diag_bytes(const char *label, const char *s, size_t len)
{
	printf("#   %s: '", label);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02X", c);
	}
	printf("'\n");
}

/*
 * Normalise len bytes copied into a buffer of exactly that size, so that
 * valgrind or ASan catch any read past len.
 */
static char *
normalize_exact(const char *in, size_t len, size_t *outlen)
{
	char	   *copy = malloc(len ? len : 1);
	char	   *res;

	memcpy(copy, in, len);
	res = pgc_normalize_sql(copy, len, outlen);
	free(copy);
	return res;
}

static void
test_norm_cases(void)
{
	for (size_t i = 0; i < lengthof(norm_cases); i++)
	{
		const NormCase *c = &norm_cases[i];
		size_t		inlen = c->inlen;
		size_t		explen = c->outlen;
		size_t		gotlen;
		char	   *got = normalize_exact(c->in, inlen, &gotlen);

		if (!ok(gotlen == explen && memcmp(got, c->out, explen) == 0 &&
				got[gotlen] == '\0', "normalise: %s", c->name))
		{
			diag_bytes("input   ", c->in, inlen);
			diag_bytes("got     ", got, gotlen);
			diag_bytes("expected", c->out, explen);
		}
		pfree(got);
	}
}

/* Known SHA-256 values, computed with sha256sum */
static void
test_known_hashes(void)
{
	char		ck[PGC_CHECKSUM_LEN + 1];
	const char *err = "unset";

	ok(pgc_checksum("", 0, ck, &err) && err == NULL, "checksum of empty body succeeds");
	is_str(ck, "1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "checksum of empty body is 1: + SHA-256 of nothing");
	ok(pgc_checksum("  SELECT 1 ; -- x\n", 18, ck, &err), "checksum succeeds");
	/* printf 'SELECT 1;' | sha256sum */
	is_str(ck, "1:17db4fd369edb9244b9f91d9aeed145c3d04ad8ba6e95d06247f07a63527d11a",
		   "checksum hashes the normalised text");
	ok(strlen(ck) == PGC_CHECKSUM_LEN, "checksum is PGC_CHECKSUM_LEN long");
	ok(strspn(ck + 2, "0123456789abcdef") == 64, "checksum is lowercase hex");
}

/* Read a whole file into a palloc'd buffer; NULL if it cannot be read */
static char *
read_whole(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = palloc(size + 1);
	*len = fread(buf, 1, size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

typedef struct Fixture
{
	char		name[256];
	char		expected[PGC_CHECKSUM_LEN + 1];
	char		actual[PGC_CHECKSUM_LEN + 1];
} Fixture;

static Fixture *
find_fixture(Fixture *fx, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(fx[i].name, name) == 0)
			return &fx[i];
	return NULL;
}

static void
test_fixtures(void)
{
	const char *srcdir = getenv("PGCHANGE_SRCDIR");
	char		dir[MAXPGPATH];
	char		path[MAXPGPATH];
	char		line[1024];
	FILE	   *f;
	Fixture    *fx = palloc0(sizeof(Fixture) * 1000);
	int			n = 0;
	int			pairs = 0;
	DIR		   *d;
	struct dirent *de;

	if (srcdir && *srcdir)
		snprintf(dir, sizeof(dir), "%s/tests/fixtures/checksum", srcdir);
	else
		strlcpy(dir, "tests/fixtures/checksum", sizeof(dir));
	snprintf(path, sizeof(path), "%s/expected.txt", dir);
	f = fopen(path, "r");
	if (!ok(f != NULL, "open %s (set PGCHANGE_SRCDIR to the source tree)", path))
		return;
	while (n < 1000 && fgets(line, sizeof(line), f))
	{
		char		name[256];
		char		hash[128];

		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (!ok(sscanf(line, "%255s %127s", name, hash) == 2 &&
				strlen(hash) == PGC_CHECKSUM_LEN,
				"expected.txt line is NAME 1:<hex>: %s", name))
			continue;
		strlcpy(fx[n].name, name, sizeof(fx[n].name));
		strlcpy(fx[n].expected, hash, sizeof(fx[n].expected));
		n++;
	}
	fclose(f);
	ok(n >= 40, "expected.txt lists %d fixtures", n);

	/* every fixture checksums as recorded */
	for (int i = 0; i < n; i++)
	{
		size_t		len;
		char	   *body;
		const char *err;

		snprintf(path, sizeof(path), "%s/%s", dir, fx[i].name);
		body = read_whole(path, &len);
		if (!ok(body != NULL && pgc_checksum(body, len, fx[i].actual, &err),
				"fixture %s read and checksummed", fx[i].name))
			continue;
		is_str(fx[i].actual, fx[i].expected, "fixture %s matches expected.txt",
			   fx[i].name);
		pfree(body);
	}

	/* every .sql file is listed, so none is silently untested */
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL)
	{
		size_t		l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".sql") == 0)
			ok(find_fixture(fx, n, de->d_name) != NULL,
			   "fixture %s is listed in expected.txt", de->d_name);
	}
	if (d)
		closedir(d);

	/* eq_NAME_a/eq_NAME_b must agree, ne_NAME_a/ne_NAME_b must not */
	for (int i = 0; i < n; i++)
	{
		const char *a = fx[i].name;
		size_t		l = strlen(a);
		char		bname[256];
		Fixture    *b;
		bool		eq;

		if ((strncmp(a, "eq_", 3) != 0 && strncmp(a, "ne_", 3) != 0) ||
			l < 6 || strcmp(a + l - 6, "_a.sql") != 0)
			continue;
		eq = (a[0] == 'e');
		strlcpy(bname, a, sizeof(bname));
		bname[l - 5] = 'b';
		b = find_fixture(fx, n, bname);
		if (!ok(b != NULL, "pair %s has its %s", a, bname))
			continue;
		pairs++;
		if (eq)
			is_str(b->actual, fx[i].actual, "pair %s / %s: checksums equal", a, bname);
		else
			ok(strcmp(b->actual, fx[i].actual) != 0,
			   "pair %s / %s: checksums differ", a, bname);
	}
	ok(pairs >= 20, "%d eq_/ne_ pairs checked", pairs);
	pfree(fx);
}

/*
 * Properties over generated inputs drawn from the bytes that matter to the
 * lexer: output never longer than input, NUL-terminated, and the same
 * twice (no hidden state).  Without CR, normalising again changes nothing.
 */
static void
test_generated(void)
{
	static const char alphabet[] = "'\"$-/*\\\r\n \t\fEeUuNn&19x_.:+=(;\v\0\xC3";
	uint32		seed = 12345;
	int			longer = 0,
				unterminated = 0,
				unstable = 0,
				notidem = 0;

	for (int iter = 0; iter < 100000; iter++)
	{
		char		buf[96];
		size_t		len;
		size_t		len1,
					len2,
					len3;
		char	   *n1,
				   *n2,
				   *n3;
		bool		has_cr = false;

		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
		{
			seed = seed * 1103515245 + 12345;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
			has_cr |= (buf[i] == '\r');
		}
		n1 = normalize_exact(buf, len, &len1);
		n2 = normalize_exact(buf, len, &len2);
		if (len1 > len)
			longer++;
		if (n1[len1] != '\0')
			unterminated++;
		if (len1 != len2 || memcmp(n1, n2, len1) != 0)
			unstable++;
		if (!has_cr)
		{
			n3 = normalize_exact(n1, len1, &len3);
			if (len3 != len1 || memcmp(n1, n3, len1) != 0)
			{
				if (notidem++ == 0)
				{
					diag_bytes("input ", buf, len);
					diag_bytes("once  ", n1, len1);
					diag_bytes("twice ", n3, len3);
				}
			}
			pfree(n3);
		}
		pfree(n1);
		pfree(n2);
	}
	ok(longer == 0, "generated inputs: output never longer than input (%d)", longer);
	ok(unterminated == 0, "generated inputs: output NUL-terminated (%d)", unterminated);
	ok(unstable == 0, "generated inputs: same output twice (%d)", unstable);
	ok(notidem == 0, "generated inputs without CR: normalising twice changes nothing (%d)",
	   notidem);
}

/* Split SQL into statements with psql_scan; false if it met a backslash */
#define MAX_STMTS 64
typedef struct Split
{
	int			n;
	char	   *stmt[MAX_STMTS];
	bool		in_quote;
} Split;

static bool
split_sql(const char *sql, size_t len, bool std_strings, Split *sp)
{
	static const PsqlScanCallbacks callbacks = {NULL};
	PsqlScanState state = psql_scan_create(&callbacks);
	PQExpBuffer buf = createPQExpBuffer();
	promptStatus_t prompt;
	PsqlScanResult r;

	sp->n = 0;
	psql_scan_setup(state, sql, (int) len, PG_UTF8, std_strings);
	do
	{
		resetPQExpBuffer(buf);
		r = psql_scan(state, buf, &prompt);
		if (r != PSCAN_BACKSLASH && sp->n < MAX_STMTS)
			sp->stmt[sp->n++] = pstrdup(buf->data);
	} while (r == PSCAN_SEMICOLON);
	sp->in_quote = psql_scan_in_quote(state);
	psql_scan_finish(state);
	psql_scan_destroy(state);
	destroyPQExpBuffer(buf);
	return r != PSCAN_BACKSLASH;
}

/*
 * psql_scan must split a body and its normalised form into the same
 * statements (equal once normalised), with standard_conforming_strings on
 * and off: otherwise two bodies with one checksum could run differently.
 * Inputs are strings of the fragments the lexer cares about.
 */
static void
test_psql_scan(void)
{
	static const char *const frag[] = {
		"'", "''", "\"", "$$", "$a$", "$b$", "--", "/*", "*/", "\n", " ",
		"  ", ";", "E'", "e'", "U&'", "U&\"", "a", "x$", "1", "e", "-", "+",
		".", ":", "\r\n", "\t", "(", ")", "&", "u", "U", "=", "$1", "1e",
		"\\", "\\'", "N'", "B'", "*", "/", "\xC3\xA9", "$", "$\xC3\xA9$",
		"SELECT", "x", "'a'\n'b'", "\f", "#", "!", "<", ">", "|", "?", "@"};
	uint32		seed = 777;
	int			checked = 0,
				bad = 0;

	for (int iter = 0; iter < 20000; iter++)
	{
		char		buf[512];
		size_t		len = 0;
		size_t		normlen;
		char	   *norm;
		int			nfrag;

		seed = seed * 1103515245 + 12345;
		nfrag = 1 + (seed >> 16) % 24;
		for (int i = 0; i < nfrag; i++)
		{
			const char *f;

			seed = seed * 1103515245 + 12345;
			f = frag[(seed >> 16) % lengthof(frag)];
			memcpy(buf + len, f, strlen(f));
			len += strlen(f);
		}
		norm = pgc_normalize_sql(buf, len, &normlen);
		for (int scs = 0; scs <= 1; scs++)
		{
			Split		a,
						b;
			bool		ok_a = split_sql(buf, len, scs, &a);
			bool		ok_b = split_sql(norm, normlen, scs, &b);
			bool		same = true;

			/* a meta-command is normalised verbatim: nothing to compare */
			if (ok_a && ok_b)
			{
				checked++;
				same = (a.n == b.n && a.in_quote == b.in_quote);
				for (int i = 0; same && i < a.n; i++)
				{
					size_t		l1,
								l2;
					char	   *n1 = pgc_normalize_sql(a.stmt[i], strlen(a.stmt[i]), &l1);
					char	   *n2 = pgc_normalize_sql(b.stmt[i], strlen(b.stmt[i]), &l2);

					same = (l1 == l2 && memcmp(n1, n2, l1) == 0);
					pfree(n1);
					pfree(n2);
				}
			}
			if (!same && bad++ == 0)
			{
				printf("#   standard_conforming_strings %s\n", scs ? "on" : "off");
				diag_bytes("input     ", buf, len);
				diag_bytes("normalised", norm, normlen);
			}
			for (int i = 0; i < a.n; i++)
				pfree(a.stmt[i]);
			for (int i = 0; i < b.n; i++)
				pfree(b.stmt[i]);
		}
		pfree(norm);
	}
	ok(checked > 30000, "psql_scan: %d generated splits compared", checked);
	ok(bad == 0, "psql_scan splits bodies and their normalised forms alike (%d differ)",
	   bad);
}

int
main(void)
{
	test_norm_cases();
	test_known_hashes();
	test_fixtures();
	test_generated();
	test_psql_scan();
	return done_testing();
}
