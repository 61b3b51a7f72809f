/* JSON text: strings from arbitrary bytes. */
#include <stdint.h>

#include "json.h"

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = s[0] & (0x3f >> (n - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what lies past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string.  Cgroup names are bytes, JSON text is UTF-8: a byte that is
 * not part of valid UTF-8 is written as \u00XX, the character of that value.
 */
void
json_string(const char *prefix, const char *str, FILE *out)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	fputs(prefix, out);
	while (*s != '\0') {
		size_t n = 0;

		/* Plain ASCII, most paths whole, goes out in one piece. */
		while (s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' &&
		    s[n] != '\\')
			n++;
		if (n > 0) {
			fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		n = *s >= 0x80 ? utf8_len(s) : 1;
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f || n == 0)
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

