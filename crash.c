/* Crash points for the tests: see crash.h. */
#include "crash.h"

#ifdef CT_CRASH_POINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void
crash_point(const char *name)
{
	const char *at = getenv("CT_CRASH_AT");

	if (at != NULL && strcmp(at, name) == 0)
		raise(SIGKILL);
}
#endif
