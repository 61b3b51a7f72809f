/* JSON text, as ct status --json and ct top --json write it. */
#ifndef CT_JSON_H
#define CT_JSON_H

#include <stdio.h>

/*
 * str as a JSON string, prefix first.  Cgroup names are bytes, JSON text is
 * UTF-8: a byte that is not part of valid UTF-8 is written as \u00XX, the
 * character of that value.
 */
void json_string(const char *prefix, const char *str, FILE *out);

#endif
