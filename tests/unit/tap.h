/*-------------------------------------------------------------------------
 *
 * tap.h
 *	  A minimal TAP producer for the controller's C unit tests.
 *
 * Each test program prints "ok N - ..." / "not ok N - ..." lines and the
 * plan at the end, so prove (and the summary line of `make check`) counts
 * every assertion.  Exit status is non-zero when any assertion failed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_TAP_H
#define PGCHANGE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	tap_count = 0;
static int	tap_failed = 0;

static inline int
tap_report(int pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return pass;
}

/* ok(cond, description...) */
static inline int
ok(int pass, const char *fmt,...)
{
	va_list		ap;
	int			r;

	va_start(ap, fmt);
	r = tap_report(pass, fmt, ap);
	va_end(ap);
	return r;
}

/* is_str(got, expected, description...): NULL-safe string equality */
static inline int
is_str(const char *got, const char *expected, const char *fmt,...)
{
	va_list		ap;
	int			pass;

	pass = (got == NULL && expected == NULL) ||
		(got != NULL && expected != NULL && strcmp(got, expected) == 0);
	va_start(ap, fmt);
	tap_report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   got:      '%s'\n#   expected: '%s'\n",
			   got ? got : "(null)", expected ? expected : "(null)");
	return pass;
}

/* is_int(got, expected, description...) */
static inline int
is_int(long long got, long long expected, const char *fmt,...)
{
	va_list		ap;
	int			pass = (got == expected);

	va_start(ap, fmt);
	tap_report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   got:      %lld\n#   expected: %lld\n", got, expected);
	return pass;
}

/* skip_all(reason): the whole program has nothing to test here */
static inline int
skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	return 0;
}

/* done_testing(): print the plan and return the exit status for main */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif							/* PGCHANGE_TAP_H */
