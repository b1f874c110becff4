/*-------------------------------------------------------------------------
 *
 * checksum.h
 *	  Changeset checksums, shared by the extension and the controller.
 *
 * A checksum is "1:" followed by the hex SHA-256 of the normalised body.
 * Normalisation drops comments, folds whitespace outside literals, quoted
 * identifiers and dollar-quoted bodies, and turns CRLF into LF, so cosmetic
 * edits keep the checksum while any change to what executes alters it.
 * Both sides compile this one implementation, so they agree byte for byte.
 *
 * Compiled with -DFRONTEND into the controller and without it into the
 * extension; memory comes from palloc, which libpgcommon provides in both.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHECKSUM_H
#define PGCHANGE_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

/* "1:" + 64 hex digits */
#define PGC_CHECKSUM_VERSION	"1"
#define PGC_CHECKSUM_LEN		66

/*
 * Return the normalised form of body[0..len) in a palloc'd, NUL-terminated
 * buffer; *outlen receives its length.  Never fails on any input bytes.
 */
extern char *pgc_normalize_sql(const char *body, size_t len, size_t *outlen);

/*
 * Write the checksum of body[0..len) into out, which must hold
 * PGC_CHECKSUM_LEN + 1 bytes.  Returns false, with *errstr set to a static
 * message, only if the hash implementation fails (out of memory, FIPS).
 */
extern bool pgc_checksum(const char *body, size_t len, char *out,
						 const char **errstr);

#endif							/* PGCHANGE_CHECKSUM_H */
