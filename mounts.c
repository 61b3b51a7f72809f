/* Mount points, from /proc/self/mountinfo: see mounts.h. */
#include <stdio.h>
#include <string.h>

#include "mounts.h"

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 +
			    (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/*
 * A line is "id parent major:minor root mountpoint options [optional...] -
 * fstype source superoptions"; the optional fields end at a lone "-".
 */
static int
parse_line(char *line, char **mountpoint, char **fstype)
{
	char *save, *tok;
	int field = 0;

	*mountpoint = *fstype = NULL;
	for (tok = strtok_r(line, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 4)
			*mountpoint = tok;
		else if (field > 5 && strcmp(tok, "-") == 0) {
			*fstype = strtok_r(NULL, " \n", &save);
			break;
		}
	}
	return *mountpoint != NULL && *fstype != NULL ? 0 : -1;
}

int
mount_find(const char *fstype, char *path, size_t len, struct err *e)
{
	char line[4096], *mp, *type;
	int found = 0;
	FILE *f;

	path[0] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return errnof(e, "cannot read /proc/self/mountinfo");
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (parse_line(line, &mp, &type) < 0 || strcmp(type, fstype) != 0)
			continue;
		unescape(mp);
		if (strlen(mp) < len) {
			memcpy(path, mp, strlen(mp) + 1);
			found = 1;
		}
	}
	fclose(f);
	return 0;
}
