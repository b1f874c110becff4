/* pgchange--0.3.0--0.4.0.sql: validate() in C, rollback SQL kept in the
 * registry, the policy engine (rules, settings, violations, guard mode and
 * the event triggers that enforce them). */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgchange UPDATE TO '0.4.0'" to load this file. \quit

/* ==================================================================== *
 * Section 1: registry and validation (issue #4)
 * ==================================================================== */

/* ==================================================================== *
 * Section 2: rollback and verification (issue #6)
 * ==================================================================== */

/* ==================================================================== *
 * Section 3: policy engine (issue #5).  The event triggers come last in
 * this section, after everything they call exists.
 * ==================================================================== */
