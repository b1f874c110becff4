-- pgchange.checksum(): format, normalisation, sensitivity.
SELECT pgchange.checksum('CREATE TABLE t (id int);');
-- comments and whitespace between tokens do not matter
SELECT pgchange.checksum('CREATE TABLE t (id int);')
     = pgchange.checksum(E'-- a comment\nCREATE   TABLE t(\n\tid int /* the key */\n) ;\n') AS cosmetic_same;
-- CRLF is LF
SELECT pgchange.checksum(E'SELECT 1;\r\nSELECT 2;')
     = pgchange.checksum(E'SELECT 1;\nSELECT 2;') AS crlf_same;
-- what executes matters: literals, identifiers, operators, keywords, dollar bodies
SELECT pgchange.checksum('SELECT ''a b'';') = pgchange.checksum('SELECT ''a  b'';') AS literal_space_same;
SELECT pgchange.checksum('SELECT "A";') = pgchange.checksum('SELECT "a";') AS quoted_ident_same;
SELECT pgchange.checksum('SELECT 1 - -1;') = pgchange.checksum('SELECT 1 --1;') AS minus_minus_same;
SELECT pgchange.checksum('SELECT a < b;') = pgchange.checksum('SELECT a <= b;') AS operator_same;
SELECT pgchange.checksum('select 1;') = pgchange.checksum('SELECT 1;') AS keyword_case_same;
SELECT pgchange.checksum('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 -- x
$$;') = pgchange.checksum('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 -- y
$$;') AS dollar_body_comment_same;
-- empty and comment-only bodies are the same empty body
SELECT pgchange.checksum('') = pgchange.checksum(E'-- nothing\n/* at all */\n') AS empty_same;
SELECT pgchange.checksum('');
-- NULL in, NULL out
SELECT pgchange.checksum(NULL) IS NULL AS strict;
-- the form: version prefix and 64 hex digits
SELECT pgchange.checksum(repeat('SELECT 1; ', 10000)) ~ '^1:[0-9a-f]{64}$' AS well_formed;
