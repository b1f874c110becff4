-- pgTAP: pgchange.checksum(), inline cases.  Its declaration (STRICT,
-- IMMUTABLE, PARALLEL SAFE), the "1:" + 64 hex format, and what the
-- normalisation folds (whitespace, comments, CRLF, a BOM) and keeps
-- (literals, quoted identifiers, dollar-quoted bodies, case, token
-- boundaries).  The file corpus in tests/fixtures/checksum is checked by
-- tests/t/010_checksum_parity.pl, which can read the files byte for byte.
BEGIN;
SELECT plan(42);

-- the checksum of a body whose normal form is itself, computed without pgchange
CREATE FUNCTION pg_temp.sha(normal text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '1:' || encode(sha256(convert_to(normal, 'UTF8')), 'hex') $$;

-- ------------------------------------------------------------ declaration --
SELECT has_function('pgchange', 'checksum', ARRAY['text'], 'pgchange.checksum(text) exists');
SELECT function_returns('pgchange', 'checksum', ARRAY['text'], 'text', 'checksum returns text');
SELECT function_lang_is('pgchange', 'checksum', ARRAY['text'], 'c', 'checksum is written in C');
SELECT volatility_is('pgchange', 'checksum', ARRAY['text'], 'immutable',
	'checksum is IMMUTABLE, so it can be used in indexes and generated columns');
SELECT is_strict('pgchange', 'checksum', ARRAY['text'], 'checksum is STRICT');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'pgchange.checksum(text)'::regprocedure),
	's', 'checksum is PARALLEL SAFE');
SELECT is(pgchange.checksum(NULL), NULL, 'the checksum of NULL is NULL');

-- ----------------------------------------------------------------- format --
SELECT matches(pgchange.checksum(b), '^1:[0-9a-f]{64}$', format('"1:" and 64 lower-case hex digits for %s', d))
  FROM (VALUES ('SELECT 1;', 'a statement'), ('', 'the empty body'),
			   (repeat(E'INSERT INTO t VALUES (1, ''x'');\n', 50000), 'a 1.5 MB body'),
			   (E'\u00e9\u4e2d\U0001F680', 'unicode')) AS c(b, d);
SELECT is(pgchange.checksum(''), pg_temp.sha(''), 'the empty body hashes the empty string');
SELECT is(pgchange.checksum(''), '1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
	'which is the well-known SHA-256 of nothing');
SELECT is(pgchange.checksum(E'-- only a comment\n/* and /* a nested */ block */\n'), pg_temp.sha(''),
	'a body of comments only is empty');
SELECT is(pgchange.checksum(E' \t\r\n\f '), pg_temp.sha(''), 'a body of whitespace only is empty');
SELECT is(pgchange.checksum('SELECT 1;'), pg_temp.sha('SELECT 1;'),
	'a body already in normal form hashes as it is');
SELECT is(pgchange.checksum(E'  SELECT   1 ;  -- why\n'), pg_temp.sha('SELECT 1;'),
	'leading and trailing runs vanish; inner runs fold to one space or none');
SELECT is(pgchange.checksum($$SELECT 'é', "ü"$$), pg_temp.sha($$SELECT 'é',"ü"$$),
	'the hash is over the UTF-8 bytes of the normal form');

-- ------------------------------------------------------- what is folded --
SELECT is(pgchange.checksum(a), pgchange.checksum(b), d)
  FROM (VALUES
	('CREATE TABLE t (id int)', E'CREATE\tTABLE   t\n(\n    id int\n)', 'whitespace is folded'),
	('CREATE TABLE t (id int);', E'-- the table\nCREATE TABLE t ( /* key */ id int ); -- done',
	 'comments are dropped'),
	(E'SELECT 1;\nSELECT 2;\n', E'SELECT 1;\r\nSELECT 2;\r\n', 'CRLF is LF'),
	('SELECT 1', E'\uFEFFSELECT 1', 'a leading byte order mark is dropped'),
	('SELECT 1 + 2', 'SELECT 1+2', 'space around an operator next to a word is not significant'),
	('SELECT a . b', E'SELECT a\n.\n\tb', 'whitespace around a dot folds to one space (1 . 5 is not 1.5)'),
	('SELECT 1/*a*/+/*b*/2', 'SELECT 1 + 2', 'a block comment between tokens is whitespace'),
	(E'SELECT $$body$$;\n', E'SELECT\n$$body$$ ;', 'whitespace around a dollar-quoted body is folded'))
	AS c(a, b, d);

-- ---------------------------------------------------------- what is kept --
SELECT isnt(pgchange.checksum(a), pgchange.checksum(b), d)
  FROM (VALUES
	($$SELECT 'a b'$$, $$SELECT 'a  b'$$, 'whitespace inside a literal is significant'),
	($$SELECT '-- not a comment'$$, $$SELECT ''$$, 'a comment marker inside a literal is data'),
	($$SELECT E'it\'s  x'$$, $$SELECT E'it\'s x'$$, 'an escape string keeps its whitespace'),
	('SELECT "a b"', 'SELECT "a  b"', 'whitespace inside a quoted identifier is significant'),
	('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT  1$$',
	 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
	 'whitespace inside a dollar-quoted body is significant'),
	('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1 -- one$$',
	 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
	 'a comment inside a dollar-quoted body is significant'),
	('DO $x$ BEGIN /* $$ */ END $x$', 'DO $x$ BEGIN END $x$', 'a tagged dollar quote holds $$ and comments'),
	('select 1', 'SELECT 1', 'keyword case is kept'),
	('SELECT 1', 'SELECT1', 'a space between two words is kept'),
	('SELECT 1 < = 2', 'SELECT 1 <= 2', 'a space between two operator characters is kept'),
	('SELECT 1 - -1', 'SELECT 1 --1', 'two minus signs apart are not a comment'),
	(E'SELECT ''a''\n''b''', $$SELECT 'a' 'b'$$, 'a newline between literals (continuation) differs from a space'),
	($$SELECT 'unterminated  $$, $$SELECT 'unterminated $$, 'an unterminated literal is kept verbatim'),
	('SELECT 1e-5', 'SELECT 1e -5', '1e-5 is a number, 1e -5 is not'))
	AS c(a, b, d);

-- --------------------------------------------------- pgTAP on a real changeset --
SELECT is(pgchange.checksum($body$
-- changeset alice:1
CREATE TABLE app.orders (
    id      bigint PRIMARY KEY,   -- surrogate key
    status  text NOT NULL DEFAULT 'new'
);
/* keep the index small */
CREATE INDEX orders_status_idx ON app.orders (status) WHERE status <> 'done';
$body$),
	pg_temp.sha('CREATE TABLE app.orders(id bigint PRIMARY KEY,status text NOT NULL DEFAULT ''new'');'
				'CREATE INDEX orders_status_idx ON app.orders(status)WHERE status<>''done'';'),
	'a realistic changeset normalises to its tokens with the minimum of spaces');
SELECT is(pgchange.checksum(E'CREATE TABLE t (id int);\n'), pgchange.checksum(E'CREATE TABLE t (id int);\n'),
	'the checksum is deterministic');

SELECT * FROM finish();
ROLLBACK;
