/*
 * Crash points, for testing that a ct killed at any step leaves a state the
 * next ct repairs.  Only builds made with -DCT_CRASH_POINTS (make check) have
 * them: there, CT_CRASH_AT=<name> in the environment makes ct kill itself
 * with SIGKILL on reaching the step of that name.  Elsewhere they compile to
 * nothing.
 */
#ifndef CT_CRASH_H
#define CT_CRASH_H

#ifdef CT_CRASH_POINTS
void crash_point(const char *name);
#else
static inline void
crash_point(const char *name)
{
	(void)name;
}
#endif

#endif
