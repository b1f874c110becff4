/*-------------------------------------------------------------------------
 *
 * main.c
 *	  Entry point of the pgchange command; everything else is in cli.c so
 *	  the unit tests can link all of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
