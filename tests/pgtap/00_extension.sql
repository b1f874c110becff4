-- pgTAP: the extension's shape and version contract.
BEGIN;
SELECT plan(8);

SELECT has_schema('pgchange', 'the extension owns schema pgchange');
SELECT has_function('pgchange', 'version', ARRAY[]::text[], 'pgchange.version() exists');
SELECT function_returns('pgchange', 'version', ARRAY[]::text[], 'text');
SELECT volatility_is('pgchange', 'version', ARRAY[]::text[], 'immutable');
SELECT is(pgchange.version(),
          (SELECT extversion FROM pg_extension WHERE extname = 'pgchange'),
          'library version equals the installed extension version');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'pgchange'),
          false, 'the extension is not relocatable');
SELECT throws_ok('ALTER EXTENSION pgchange SET SCHEMA public', '0A000',
                 NULL, 'the schema cannot be moved');
SELECT matches(pgchange.version(), '^\d+\.\d+\.\d+$', 'the version is MAJOR.MINOR.PATCH');

SELECT * FROM finish();
ROLLBACK;
